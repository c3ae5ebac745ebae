// End to end: a real undici Agent composed with interceptors.cache({ store })
// against a real node:http server on 127.0.0.1. The origin counts what it
// receives, so "served from cache" means "the origin saw nothing".
//
// The same scenarios run with undici's own MemoryCacheStore as a reference, so
// a failure that shows on ours only is ours, against ferrocache's
// SqliteCacheStore (a file in a temp dir, removed afterwards), and against
// RedisCacheStore with and without its L1 on a real redis-server (held to
// what undici's own MemoryCacheStore does here).

import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { origin, log, state, until, get, useOrigin } from './helpers/origin.mjs'
import { startRedis, redisSkipReason } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { Agent, interceptors, request, cacheStores } = require('undici')
const { MemoryCacheStore, SqliteCacheStore, RedisCacheStore } = require('../index.js')

useOrigin()

const sqliteDir = mkdtempSync(join(tmpdir(), 'ferrocache-integration-'))
after(() => rmSync(sqliteDir, { recursive: true, force: true }))

const redisSkip = redisSkipReason() ?? false
let redis
before(async () => { if (!redisSkip) redis = await startRedis() })
after(async () => { await redis?.stop() })
/** The Redis hash holding every variant of `path` for store `name`. */
const redisHash = (name, path) => `${name}:{${origin.length}:${origin}${path}}`

/**
 * Each store under test: how to make and close it, how to see that the four
 * variants of a URL are stored, and what to compare before and after a
 * response that must not be stored.
 */
const local = (name, kind, make) => ({
  name,
  kind,
  make,
  close: (store) => store.close?.(),
  variants: async (store) => { if (name !== 'undici') assert.equal(store.count >= 4, true) },
  footprint: async (store) => store.size
})
const onRedis = (name, l1) => {
  const errors = []
  return {
    name,
    kind: `RedisCacheStore (${l1 === false ? 'no L1' : 'L1'})`,
    skip: redisSkip,
    make: () => new RedisCacheStore({ url: redis.url, keyPrefix: `${name}:`, l1, errorCallback: (e) => errors.push(e) }),
    async close (store) {
      await store.close()
      assert.deepEqual(errors, [], 'no Redis error')
    },
    // One Redis hash holds the URL's variants: 4 × (metadata, body) + the write
    // counter. (The interceptor writes as the body streams: poll until the last
    // write landed.)
    variants: (store, path) => until(async () => (await redis.command('HLEN', redisHash(name, path))) === ':9\r\n', 'four variants in one hash'),
    footprint: (store, path) => redis.command('EXISTS', redisHash(name, path))
  }
}

const stores = [
  local('ferrocache', 'MemoryCacheStore', () => new MemoryCacheStore()),
  local('undici', 'MemoryCacheStore', () => new cacheStores.MemoryCacheStore()),
  local('ferrocache-sqlite', 'SqliteCacheStore', () => new SqliteCacheStore({ location: join(sqliteDir, 'cache.db') })),
  onRedis('redis-l1', undefined),
  onRedis('redis', false)
]

for (const s of stores) {
  const name = s.name
  describe(`cache interceptor with ${name} ${s.kind}`, { skip: s.skip ?? false }, () => {
    let store
    let agent
    const p = (kind, rest = '') => `/${name}/${kind}${rest}`
    const key = (path, headers = {}) => ({ origin, method: 'GET', path, headers })

    before(() => {
      store = s.make()
      agent = new Agent().compose(interceptors.cache({ store }))
    })

    after(async () => {
      await agent.close()
      await s.close(store)
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
      await s.variants(store, path)
    })

    test('a no-store response is not stored', async () => {
      const path = p('nostore')
      const before = await s.footprint(store, path)
      assert.equal((await get(agent, path)).text, 'nostore #1')
      assert.equal((await get(agent, path)).text, 'nostore #2')
      assert.equal(log(path).length, 2)
      assert.equal(await store.get(key(path)), undefined)
      assert.equal(await s.footprint(store, path), before)
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

describe('cache interceptor with a small ferrocache store', () => {
  let store
  let agent
  before(() => {
    store = new MemoryCacheStore({ maxCount: 3 })
    agent = new Agent().compose(interceptors.cache({ store }))
  })
  after(async () => { await agent.close() })

  // Ours: maxCount holds under real traffic, and the most recently used responses stay.
  test('maxCount holds under real traffic; the most recently used stay cached', async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal((await get(agent, `/small/fresh/${i}`)).text, 'fresh #1')
      assert.ok(store.count <= 3, `count ${store.count}`)
    }
    await get(agent, '/small/fresh/7') // most recently used now: 7, then 9, 8
    await get(agent, '/small/fresh/10') // evicts 8
    for (const i of [7, 9, 10]) {
      assert.equal((await get(agent, `/small/fresh/${i}`)).text, 'fresh #1')
      assert.equal(log(`/small/fresh/${i}`).length, 1, `/${i} served from the cache`)
    }
    assert.equal((await get(agent, '/small/fresh/8')).text, 'fresh #2', '/8 was evicted')
    assert.equal(store.count, 3)
    assert.equal(store.stats().evictions, 9)
  })
})
