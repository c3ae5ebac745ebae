// Redis failures under a real undici interceptor (issue 12, "fault tests"):
// redis-server killed and restarted mid-run, and frozen (SIGSTOP) for 3 s.
// Requests keep being answered from the origin, nothing throws or rejects
// unhandled, the store reconnects by itself, and no L1 serves a stale entry
// afterwards. Latencies are printed; the only bound asserted is "no hang"
// (a generous multiple of commandTimeout), speed is bench/'s business.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { createRequire } from 'node:module'
import { startRedis, redisSkipReason } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Agent, interceptors, request } = require('undici')
const { RedisCacheStore } = require('../index.js')

const skip = redisSkipReason() ?? false
const COMMAND_TIMEOUT = 100
const NO_HANG_MS = 20 * COMMAND_TIMEOUT
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

let redis, origin, originUrl
let originHits = 0
const unhandled = []
const onUnhandled = (err) => unhandled.push(err)

before(async () => {
  if (skip) return
  process.on('unhandledRejection', onUnhandled)
  redis = await startRedis()
  origin = http.createServer((req, res) => {
    originHits++
    res.writeHead(200, { 'cache-control': 'public, max-age=60' })
    res.end(`${req.url} from origin`)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  originUrl = `http://127.0.0.1:${origin.address().port}`
})

after(async () => {
  process.off('unhandledRejection', onUnhandled)
  origin?.close()
  await redis?.stop()
})

function setup (prefix, timeout = COMMAND_TIMEOUT) {
  const errors = []
  const store = new RedisCacheStore({ url: redis.url, keyPrefix: prefix, commandTimeout: timeout, errorCallback: (e) => errors.push(e) })
  const agent = new Agent().compose(interceptors.cache({ store }))
  const get = async (path) => {
    const t0 = performance.now()
    const res = await request(originUrl + path, { dispatcher: agent })
    const body = await res.body.text()
    return { status: res.statusCode, body, ms: performance.now() - t0 }
  }
  return { store, agent, get, errors, close: async () => { await store.close(); await agent.close() } }
}

/** Waits (bounded) for cond(). */
async function eventually (cond, ms = 5000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return true
    await sleep(10)
  }
  return cond()
}

async function direct (store, path, body) {
  const key = { origin: originUrl, path, method: 'GET', headers: {} }
  const now = Date.now()
  const ws = store.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: { 'cache-control': 'public, max-age=60' }, cachedAt: now, staleAt: now + 60_000, deleteAt: now + 60_000 })
  ws.end(body)
  await once(ws, 'finish')
}

test('redis-server killed and restarted mid-run: every request answered, reconnect, no stale L1', { skip, timeout: 30_000 }, async () => {
  const a = setup('kill:')
  const b = setup('kill:', COMMAND_TIMEOUT + 1) // a second instance (its own client)
  await a.get('/k')
  await eventually(async () => (await a.get('/k')).body === '/k from origin' && !(a.store.get({ origin: originUrl, path: '/k', method: 'GET', headers: {} }) instanceof Promise))
  const latencies = []
  for (let i = 0; i < 150; i++) {
    if (i === 30) await redis.kill()
    if (i === 90) await redis.restart()
    const r = await a.get(`/k${i % 5}`)
    assert.equal(r.status, 200)
    assert.equal(r.body, `/k${i % 5} from origin`)
    latencies.push(r.ms)
    assert.ok(r.ms < NO_HANG_MS, `request ${i} took ${r.ms} ms`)
    await sleep(5)
  }
  latencies.sort((x, y) => x - y)
  console.log(`# kill/restart: 150 requests answered, latency p50 ${latencies[75].toFixed(1)} ms, max ${latencies[149].toFixed(1)} ms (commandTimeout ${COMMAND_TIMEOUT})`)
  assert.ok(await eventually(() => a.store.stats().reconnects >= 1), 'reconnected by itself')
  // Redis restarted empty (no persistence). B writes a new version of /k;
  // A must serve it, not the copy its L1 held before the outage.
  assert.ok(await eventually(async () => {
    await direct(b.store, '/k', 'v2 after restart')
    return b.errors.length === 0 || (await b.store.get({ origin: originUrl, path: '/k', method: 'GET', headers: {} })) !== undefined
  }))
  assert.ok(await eventually(async () => (await a.get('/k')).body === 'v2 after restart'), 'A serves the new version')
  assert.ok(a.errors.length >= 1 && a.errors.every((e) => e instanceof Error), 'failures reported to errorCallback')
  assert.equal(unhandled.length, 0, 'no unhandled rejection')
  await a.close(); await b.close()
})

test('redis-server frozen 3 s: requests answered within the deadline, breaker, a late write still invalidates', { skip, timeout: 30_000 }, async () => {
  const a = setup('freeze:')
  const b = setup('freeze:', COMMAND_TIMEOUT + 2)
  const key = { origin: originUrl, path: '/f', method: 'GET', headers: {} }
  await direct(b.store, '/f', 'v1')
  assert.ok(await eventually(async () => { await a.store.get(key); return !(a.store.get(key) instanceof Promise) }), 'A holds /f in its L1')

  redis.freeze()
  const frozenAt = Date.now()
  // B overwrites /f while Redis is frozen: B gives up after its deadline,
  // but the write (and its PUBLISH, same script) runs when Redis resumes.
  const late = b.store.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: Date.now(), staleAt: Date.now() + 60_000, deleteAt: Date.now() + 60_000 })
  late.end('v2 written during the freeze')
  const latencies = []
  let n = 0
  while (Date.now() - frozenAt < 3000) {
    const r = await a.get(`/other${n++ % 3}`)
    assert.equal(r.status, 200)
    latencies.push(r.ms)
    assert.ok(r.ms < NO_HANG_MS, `took ${r.ms} ms`)
    await sleep(20)
  }
  redis.thaw()
  latencies.sort((x, y) => x - y)
  console.log(`# freeze: ${latencies.length} requests answered during 3 s, latency p50 ${latencies[latencies.length >> 1].toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms (commandTimeout ${COMMAND_TIMEOUT})`)
  assert.ok(latencies.length > 20, 'requests kept flowing')
  await finished(late)
  assert.ok(b.errors.some((e) => /timed out|unavailable/i.test(e.message)), 'B reported its write as failed')
  // After the thaw the late write lands and its message drops A's v1.
  assert.ok(await eventually(async () => {
    const r = await a.store.get(key)
    return r !== undefined && Buffer.concat(r.body).toString() === 'v2 written during the freeze'
  }), 'A never keeps serving v1 from its L1')
  assert.equal(unhandled.length, 0, 'no unhandled rejection')
  await a.close(); await b.close()
})

// Messages missed while disconnected: only A's connection is dropped (CLIENT
// KILL of the subscribed clients; Redis stays up) and another instance writes
// meanwhile. A clears its L1 on the drop and again when resubscribed, so it
// serves the new version, not its old copy (the peer undici-cache-redis 1.0.1
// never re-enables tracking after a reconnect and keeps serving the old one).
test('a dropped subscription: the L1 is cleared, resubscribed, and the write made meanwhile is served', { skip, timeout: 30_000 }, async () => {
  const a = setup('drop:')
  const writer = new RedisCacheStore({ url: redis.url, keyPrefix: 'drop:', l1: false, commandTimeout: COMMAND_TIMEOUT + 3 })
  const key = { origin: originUrl, path: '/d', method: 'GET', headers: {} }
  await direct(writer, '/d', 'v1')
  assert.ok(await eventually(async () => { await a.store.get(key); return !(a.store.get(key) instanceof Promise) }), 'A holds /d in its L1')
  const before = a.store.stats().reconnects
  await redis.command('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await direct(writer, '/d', 'v2 while A was disconnected')
  assert.ok(await eventually(async () => {
    const r = await a.store.get(key)
    return r !== undefined && Buffer.concat(r.body).toString() === 'v2 while A was disconnected'
  }), 'A serves the new version')
  assert.ok(await eventually(() => a.store.stats().reconnects > before), 'A reconnected')
  // Coherent again: the next overwrite reaches A's L1 through the new subscription.
  assert.ok(await eventually(async () => { await a.store.get(key); return !(a.store.get(key) instanceof Promise) }), 'A fills its L1 again')
  await direct(writer, '/d', 'v3')
  assert.ok(await eventually(async () => {
    const r = await a.store.get(key)
    return r !== undefined && Buffer.concat(r.body).toString() === 'v3'
  }), 'A serves v3')
  assert.equal(unhandled.length, 0)
  await a.close(); await writer.close()
})
