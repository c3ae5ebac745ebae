// Starts storefront instances (child processes running
// __test__/vsf-redis-instance.mjs: the real @vue-storefront/cache module with
// ferrocache/vsf on Redis) and drives them over IPC.
import { fork } from 'node:child_process'
import net from 'node:net'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../vsf-redis-instance.mjs', import.meta.url))

/** One instance: `call(cmd, args)` resolves to the command's result. */
async function startInstance (config) {
  const child = fork(script, [], {
    env: { ...process.env, VSF_INSTANCE: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const pending = new Map()
  let next = 1
  let started
  const ready = new Promise((resolve, reject) => { started = { resolve, reject } })
  child.on('message', ({ id, ok, result, error }) => {
    if (id === 0) return started.resolve()
    const p = pending.get(id)
    pending.delete(id)
    if (ok) p?.resolve(result)
    else p?.reject(new Error(error))
  })
  const exited = once(child, 'exit')
  child.on('exit', (code, signal) => {
    const err = new Error(`instance exited (${code ?? signal})`)
    started.reject(err)
    for (const p of pending.values()) p.reject(err)
    pending.clear()
  })
  await ready
  return {
    pid: child.pid,
    call (cmd, args) {
      const id = next++
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject })
        child.send({ id, cmd, args })
      })
    },
    get alive () { return child.exitCode === null && child.signalCode === null },
    async stop () {
      if (child.exitCode !== null || child.signalCode !== null) return
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      child.send({ id: next++, cmd: 'exit' })
      await exited
      clearTimeout(timer)
    }
  }
}

/** `n` instances on `url`, each with its own `pad` (firstPad, firstPad + 1, …), synced with Redis. */
export async function startInstances (n, config, firstPad = 1) {
  const instances = []
  try {
    for (let i = 0; i < n; i++) instances.push(await startInstance({ ...config, pad: firstPad + i }))
    await Promise.all(instances.map((s) => s.call('ready', {})))
  } catch (err) {
    await Promise.all(instances.map((s) => s.stop()))
    throw err
  }
  return instances
}

/**
 * A TCP proxy on 127.0.0.1 in front of `port`: `cut()` drops its connections
 * and refuses new ones (this side of the network is cut off), `restore()`
 * lets connections through again.
 */
export async function startProxy (port) {
  const sockets = new Set()
  let cut = false
  const server = net.createServer((client) => {
    if (cut) return client.destroy()
    const upstream = net.connect(port, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('error', () => { client.destroy(); upstream.destroy() })
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: server.address().port,
    cut () {
      cut = true
      for (const s of sockets) s.destroy()
    },
    restore () { cut = false },
    close () {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(resolve))
    }
  }
}

/** Percentile of numbers (nearest rank). */
export function percentile (xs, p) {
  if (xs.length === 0) return null
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}
