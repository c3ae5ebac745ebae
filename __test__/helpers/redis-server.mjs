// A real Debian redis-server for the Redis-tier tests: started on 127.0.0.1 on
// a free port with no persistence, stopped after. Faults are real signals:
// kill (SIGKILL) + restart on the same port, freeze (SIGSTOP) / thaw (SIGCONT).
//
// `redisSkipReason()` is how a suite decides whether it can run: null when
// redis-server is installed; a printed reason otherwise, except under CI
// (CI=true), where a missing redis-server is an error, never a silent skip.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Encodes one RESP command. */
function encode (args) {
  let out = `*${args.length}\r\n`
  for (const a of args) {
    const s = String(a)
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`
  }
  return out
}

/**
 * One command over a fresh connection; resolves to the raw RESP reply text
 * (enough for tests: `+PONG`, `:3`, `$5\r\nhello`, …). Rejects after `timeout` ms.
 */
export function redisCommand (port, args, { timeout = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let reply = ''
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`redis ${args[0]} timed out`)) }, timeout)
    socket.on('error', (err) => { clearTimeout(timer); reject(err) })
    socket.on('data', (d) => {
      reply += d
      if (reply.endsWith('\r\n') && complete(reply)) { clearTimeout(timer); socket.end(); resolve(reply) }
    })
    socket.on('close', () => { clearTimeout(timer); resolve(reply) })
    socket.write(encode(args))
  })
}

// A bulk string reply is complete once its announced length has arrived.
function complete (reply) {
  if (reply[0] !== '$') return true
  const nl = reply.indexOf('\r\n')
  const len = Number(reply.slice(1, nl))
  return len < 0 || Buffer.byteLength(reply) >= nl + 2 + len + 2
}

/** A free TCP port on 127.0.0.1 (and port + 10000 free too, for a cluster bus). */
export async function freePort () {
  for (let i = 0; i < 50; i++) {
    const s = net.createServer().listen(0, '127.0.0.1')
    await once(s, 'listening')
    const { port } = s.address()
    await new Promise((resolve) => s.close(resolve))
    if (port + 10000 < 65536) return port
  }
  throw new Error('no free port')
}

/** null if redis-server can run here; else why not (throws under CI). */
export function redisSkipReason () {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (!r.error) return null
  const why = `redis-server not found (${r.error.code}); install it with: apt-get install -y redis-server`
  if (process.env.CI) throw new Error(`CI requires redis-server for the Redis tests: ${why}`)
  console.log(`# SKIPPING Redis tests: ${why}`)
  return why
}

async function waitForPing (port, child, deadlineMs = 10000) {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`)
    const reply = await redisCommand(port, ['PING'], { timeout: 500 }).catch(() => '')
    if (reply.startsWith('+PONG')) return
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING`)
    await sleep(20)
  }
}

function spawnServer (port, extra, dir) {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, ...extra
  ], { stdio: 'ignore' })

  return child
}

/**
 * Starts a private redis-server. Returns a handle:
 *   port, url, command(...args), flush(), stop(),
 *   kill() (SIGKILL, data lost), restart() (same port, empty),
 *   freeze() (SIGSTOP), thaw() (SIGCONT).
 */
export async function startRedis ({ args = [] } = {}) {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrocache-redis-'))
  let child = spawnServer(port, args, dir)
  await waitForPing(port, child)
  const exited = () => child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : once(child, 'exit')
  const handle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid () { return child.pid },
    command: (...a) => redisCommand(port, a),
    flush: () => redisCommand(port, ['FLUSHALL']),
    freeze () { child.kill('SIGSTOP') },
    thaw () { child.kill('SIGCONT') },
    async kill () {
      const done = exited()
      child.kill('SIGKILL')
      await done
    },
    async restart () {
      await handle.kill()
      child = spawnServer(port, args, dir)
      await waitForPing(port, child)
    },
    async stop () {
      if (child.signalCode === 'SIGSTOP') child.kill('SIGCONT')
      const done = exited()
      if (!(child.exitCode !== null || child.signalCode !== null)) child.kill('SIGTERM')
      await done
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  return handle
}

/**
 * Starts a local Redis Cluster of `masters` nodes (no replicas):
 * `redis-server --cluster-enabled yes` × n + `redis-cli --cluster create`.
 * Returns { ports, urls, nodes, stop() }.
 */
export async function startCluster ({ masters = 3 } = {}) {
  const nodes = []
  try {
    for (let i = 0; i < masters; i++) {
      // nodes.conf is relative to the node's own --dir, removed by stop().
      nodes.push(await startRedis({
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', '2000']
      }))
    }
    const r = spawnSync('redis-cli', ['--cluster', 'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8', timeout: 30000 })
    if (r.status !== 0) throw new Error(`redis-cli --cluster create failed: ${r.stderr || r.stdout}`)
    // Wait until every node reports the cluster as ok.
    const deadline = Date.now() + 15000
    for (const n of nodes) {
      for (;;) {
        const info = await n.command('CLUSTER', 'INFO').catch(() => '')
        if (info.includes('cluster_state:ok')) break
        if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok')
        await sleep(50)
      }
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()))
    throw err
  }
  return {
    nodes,
    ports: nodes.map((n) => n.port),
    urls: nodes.map((n) => n.url),
    stop: () => Promise.all(nodes.map((n) => n.stop()))
  }
}
