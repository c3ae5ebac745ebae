// End to end on Redis: a real undici Agent composed with
// interceptors.cache({ store: RedisCacheStore }) against a real node:http
// server on 127.0.0.1 and a real redis-server, with and without the L1. The
// scenarios are integration.test.mjs's (fresh hits, Vary, no-store, unsafe
// methods, ETag 304s, stale-while-revalidate re-storing the body through
// body.values()), so the Redis store is held to what undici's own
// MemoryCacheStore does there.

import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'
import { startRedis, redisSkipReason } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Agent, interceptors, request } = require('undici')
const { RedisCacheStore } = require('../index.js')

const skip = redisSkipReason() ?? false
let redis

/** Per-path log of what the origin received. */
const seen = new Map()
function log (path) {
  if (!seen.has(path)) seen.set(path, [])
  return seen.get(path)
}
/** Versions of stateful resources. */
const state = new Map()

function handle (req, res) {
  const url = new URL(req.url, 'http://x')
  const path = url.pathname
  log(path).push({ method: req.method, headers: req.headers })
  const kind = path.split('/')[2] // /<store>/<kind>/...
  const n = log(path).length

  switch (kind) {
    case 'fresh':
      res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' })
      return res.end(`fresh #${n}`)
    case 'vary': {
      const enc = req.headers['accept-encoding'] ?? 'none'
      res.writeHead(200, { 'cache-control': 'public, max-age=60', vary: 'accept-encoding' })
      return res.end(`enc:${enc} #${n}`)
    }
    case 'nostore':
      res.writeHead(200, { 'cache-control': 'no-store' })
      return res.end(`nostore #${n}`)
    case 'resource':
      if (req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        return res.end('updated')
      }
      res.writeHead(200, { 'cache-control': 'public, max-age=60' })
      return res.end(`resource #${n}`)
    case 'etag': {
      // Revalidation-only entry (max-age=0 with a validator): every reuse asks the origin first.
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' })
        return res.end()
      }
      res.writeHead(200, { etag: '"v1"', 'cache-control': 'public, max-age=0' })
      return res.end(`etag body #${n}`)
    }
    case 'swr': {
      // First a response that is stale at once but may be served stale for 60 s while it is
      // revalidated; the revalidation gets a 304 that makes it fresh for 60 s.
      const s = state.get(path) ?? { revalidated: 0 }
      state.set(path, s)
      if (req.headers['if-none-match'] === '"s1"') {
        s.revalidated++
        res.writeHead(304, { etag: '"s1"', 'cache-control': 'public, max-age=60, stale-while-revalidate=60' })
        res.end()
        s.onRevalidated?.()
        return
      }
      res.writeHead(200, { etag: '"s1"', 'cache-control': 'public, max-age=0, stale-while-revalidate=60' })
      return res.end(`swr body #${n}`)
    }
    default:
      res.writeHead(404)
      return res.end()
  }
}

let server
let origin

before(async () => {
  server = http.createServer(handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  origin = `http://127.0.0.1:${server.address().port}`
})

after(async () => {
  server.closeAllConnections()
  server.close()
})

async function get (dispatcher, path, headers = {}) {
  const res = await request(`${origin}${path}`, { dispatcher, headers })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text }
}

/** Waits (bounded, not timed) until `cond()` holds. */
async function until (cond, what) {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return
    await sleep(5)
  }
  assert.fail(`gave up waiting for ${what}`)
}

before(async () => {
  if (skip) return
  redis = await startRedis()
})
after(async () => { await redis?.stop() })

for (const [name, l1] of [['redis-l1', undefined], ['redis', false]]) {
  describe(`cache interceptor with RedisCacheStore (${l1 === false ? 'no L1' : 'L1'})`, { skip }, () => {
    let store
    let agent
    const p = (kind, rest = '') => `/${name}/${kind}${rest}`
    const key = (path, headers = {}) => ({ origin, method: 'GET', path, headers })
    const errors = []

    before(() => {
      store = new RedisCacheStore({ url: redis.url, keyPrefix: `${name}:`, l1, errorCallback: (e) => errors.push(e) })
      agent = new Agent().compose(interceptors.cache({ store }))
    })

    after(async () => {
      await agent.close()
      await store.close()
      assert.deepEqual(errors, [], 'no Redis error')
    })

    test('a fresh response is served from the cache without contacting the origin', async () => {
      const path = p('fresh')
      const first = await get(agent, path)
      assert.equal(first.status, 200)
      assert.equal(first.text, 'fresh #1')
      for (let i = 0; i < 3; i++) {
        const again = await get(agent, path)
        assert.equal(again.status, 200)
        assert.equal(again.text, 'fresh #1')
        assert.ok('age' in again.headers, 'a cached response carries Age')
      }
      assert.equal(log(path).length, 1, 'the origin saw one request')
      const hit = await store.get(key(path))
      assert.equal(Buffer.concat(hit.body).toString(), 'fresh #1')
    })

    test('Vary: accept-encoding keeps one variant per encoding', async () => {
      const path = p('vary')
      assert.equal((await get(agent, path, { 'accept-encoding': 'gzip' })).text, 'enc:gzip #1')
      assert.equal((await get(agent, path, { 'accept-encoding': 'br' })).text, 'enc:br #2')
      assert.equal((await get(agent, path)).text, 'enc:none #3')
      assert.equal(log(path).length, 3)
      assert.equal((await get(agent, path, { 'accept-encoding': 'gzip' })).text, 'enc:gzip #1')
      assert.equal((await get(agent, path, { 'accept-encoding': 'br' })).text, 'enc:br #2')
      assert.equal((await get(agent, path)).text, 'enc:none #3')
      assert.equal(log(path).length, 3, 'every variant was served from the cache')
      assert.equal((await get(agent, path, { 'accept-encoding': 'gzip, br' })).text, 'enc:gzip, br #4')
      assert.equal(log(path).length, 4)
      // One Redis hash holds the URL's variants: 4 × (metadata, body) + the write counter.
      // (The interceptor writes as the body streams: poll until the last write landed.)
      await until(async () => (await redis.command('HLEN', `${name}:{${origin.length}:${origin}${path}}`)) === ':9\r\n', 'four variants in one hash')
    })

    test('a no-store response is not stored', async () => {
      const path = p('nostore')
      assert.equal((await get(agent, path)).text, 'nostore #1')
      assert.equal((await get(agent, path)).text, 'nostore #2')
      assert.equal(log(path).length, 2)
      assert.equal(await store.get(key(path)), undefined)
      assert.equal(await redis.command('EXISTS', `${name}:{${origin.length}:${origin}${path}}`), ':0\r\n', 'nothing in Redis')
    })

    test('an unsafe method (POST) to the same path invalidates the stored response', async () => {
      const path = p('resource')
      assert.equal((await get(agent, path)).text, 'resource #1')
      assert.equal((await get(agent, path)).text, 'resource #1')
      assert.equal(log(path).length, 1)
      assert.ok(await store.get(key(path)))

      const post = await request(`${origin}${path}`, { dispatcher: agent, method: 'POST', body: 'x' })
      assert.equal(await post.body.text(), 'updated')
      assert.equal(await store.get(key(path)), undefined, 'the POST deleted the stored GET response')

      assert.equal((await get(agent, path)).text, 'resource #3', 'the next GET went to the origin')
      assert.equal(log(path).length, 3)
      assert.equal((await get(agent, path)).text, 'resource #3')
      assert.equal(log(path).length, 3)
    })

    test('revalidation with ETag: a 304 serves the cached body', async () => {
      const path = p('etag')
      const first = await get(agent, path)
      assert.equal(first.text, 'etag body #1')
      const stored = await store.get(key(path))
      assert.ok(stored, 'a revalidation-only response (max-age=0 + ETag) is stored')
      assert.equal(stored.etag, '"v1"')

      for (let i = 0; i < 3; i++) {
        const again = await get(agent, path)
        assert.equal(again.status, 200)
        assert.equal(again.text, 'etag body #1', 'the body comes from the cache')
      }
      const reqs = log(path)
      assert.equal(reqs.length, 4)
      assert.equal(reqs[0].headers['if-none-match'], undefined)
      for (const r of reqs.slice(1)) assert.equal(r.headers['if-none-match'], '"v1"', 'the origin saw If-None-Match')
      const still = await store.get(key(path))
      assert.ok(still, 'the entry survives its revalidations')
      assert.equal(Buffer.concat(still.body).toString(), 'etag body #1')
    })

    test('stale-while-revalidate: stale served at once, background 304 refreshes the entry', async () => {
      const path = p('swr')
      const first = await get(agent, path)
      assert.equal(first.text, 'swr body #1')
      const before = await store.get(key(path))
      assert.ok(before, 'stored')
      // Let the clock move past staleAt (a response with max-age=0 is stale from the next ms).
      await until(() => Date.now() > before.staleAt, 'the entry to go stale')

      const revalidated = new Promise((resolve) => { state.get(path).onRevalidated = resolve })
      const stale = await get(agent, path)
      assert.equal(stale.status, 200)
      assert.equal(stale.text, 'swr body #1', 'the stale body was served')
      assert.match(String(stale.headers.warning), /110/, 'marked stale')

      await revalidated
      const reqs = log(path)
      assert.equal(reqs.length, 2, 'the background revalidation reached the origin')
      assert.equal(reqs[1].headers['if-none-match'], '"s1"')

      // The 304 goes through CacheHandler, which re-stores the cached body (iterating
      // body.values()) with the 304's freshness.
      await until(async () => {
        const r = await store.get(key(path))
        return r !== undefined && r.staleAt > Date.now() + 30_000
      }, 'the entry to be refreshed by the 304')
      const refreshed = await store.get(key(path))
      assert.equal(Buffer.concat(refreshed.body).toString(), 'swr body #1', 'the body survived the refresh')
      assert.equal(refreshed.etag, '"s1"')

      const fresh = await get(agent, path)
      assert.equal(fresh.text, 'swr body #1')
      assert.equal(fresh.headers.warning, undefined, 'fresh again')
      assert.equal(log(path).length, 2, 'served from the refreshed entry without the origin')
    })
  })
}
