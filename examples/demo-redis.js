'use strict'
// `npm run demo:redis`: three instances of one service (three Node processes,
// as behind a load balancer) share one cache through Redis. Each instance is
// an undici Agent with ferrocache's interceptors.cache over a RedisCacheStore
// (with its in-process L1). The script starts its own redis-server on
// 127.0.0.1 (Debian's `redis-server`, no persistence) and stops it at the end.
//
// What it shows: a response fetched by instance A is a hit on B and C without
// contacting the origin; a POST through C invalidates it for A and B too.
const http = require('node:http')
const net = require('node:net')
const { once } = require('node:events')
const { spawn, fork, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

if (process.argv[2] === 'instance') instance(process.argv[3], process.argv[4])
else main().catch((err) => { console.error(err); process.exitCode = 1 })

/** One instance: fetches what the parent asks for, through the shared cache. */
function instance (name, redisUrl) {
  const { Agent, request } = require('undici')
  const { RedisCacheStore, interceptors } = require('..')
  const store = new RedisCacheStore({ url: redisUrl, keyPrefix: 'demo:', commandTimeout: 250 })
  const agent = new Agent().compose(interceptors.cache({ store, type: 'shared' }))
  process.on('message', async ({ id, method, url }) => {
    try {
      const res = await request(url, { method, dispatcher: agent })
      const text = await res.body.text()
      process.send({ id, status: res.statusCode, text: text.trim() })
    } catch (err) {
      process.send({ id, error: err.message })
    }
  })
  process.on('disconnect', async () => {
    await store.close()
    await agent.close()
    process.exit(0)
  })
  process.send({ ready: name })
}

async function freePort () {
  const s = net.createServer().listen(0, '127.0.0.1')
  await once(s, 'listening')
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

async function startRedis () {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server not found: apt-get install -y redis-server')
  }
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrocache-demo-'))
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' })
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.on('connect', () => { s.end(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) break
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop () {
      child.kill('SIGTERM')
      await once(child, 'exit')
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
}

async function main () {
  const redis = await startRedis()
  let originHits = 0
  let version = 1
  const origin = http.createServer((req, res) => {
    originHits++
    if (req.method === 'POST') {
      version++
      res.writeHead(204)
      return res.end()
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=300' })
    res.end(`price of ${req.url}: v${version}\n`)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  const base = `http://127.0.0.1:${origin.address().port}`

  const instances = {}
  for (const name of ['A', 'B', 'C']) {
    const child = fork(__filename, ['instance', name, redis.url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    await new Promise((resolve) => child.once('message', resolve))
    instances[name] = child
  }
  let seq = 0
  function ask (name, method, p) {
    const id = ++seq
    const child = instances[name]
    return new Promise((resolve, reject) => {
      const onMessage = (m) => {
        if (m.id !== id) return
        child.off('message', onMessage)
        if (m.error) reject(new Error(m.error))
        else resolve(m)
      }
      child.on('message', onMessage)
      child.send({ id, method, url: base + p })
    })
  }
  async function show (name, method, p) {
    const before = originHits
    const r = await ask(name, method, p)
    const what = method !== 'GET' ? 'SENT' : originHits === before ? 'HIT ' : 'MISS'
    console.log(`instance ${name}: ${what} ${method.padEnd(4)} ${p}\t-> ${r.status} ${r.text}`)
  }

  console.log(`redis on ${redis.url}, origin on ${base}; 3 instances share one cache\n`)
  await show('A', 'GET', '/products/1')
  await new Promise((resolve) => setTimeout(resolve, 250)) // the write lands in Redis
  await show('B', 'GET', '/products/1')
  await show('C', 'GET', '/products/1')
  await show('A', 'GET', '/products/1')
  console.log('\na POST through C changes the product (RFC 9111 §4.4: the cache invalidates it):')
  await show('C', 'POST', '/products/1')
  await new Promise((resolve) => setTimeout(resolve, 250)) // the invalidation reaches every instance
  await show('A', 'GET', '/products/1')
  await new Promise((resolve) => setTimeout(resolve, 250))
  await show('B', 'GET', '/products/1')
  console.log(`\norigin requests: ${originHits} (2 GETs + 1 POST for 6 GETs over 3 instances)`)

  for (const child of Object.values(instances)) {
    const exited = once(child, 'exit')
    child.disconnect()
    await exited
  }
  origin.close()
  await redis.stop()
}
