// Pins behaviour the peers' own test suites rely on (http-cache-semantics'
// test/*.js, undici's test/cache-interceptor/*.js). Each test names the peer
// test it mirrors; where the peer is installed the same assertion runs on it.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { CachePolicy } = require('../index.js')
const PeerPolicy = require('http-cache-semantics')

describe('CachePolicy#_responseTime (http-cache-semantics test/satisfytest.js)', () => {
  // satisfytest.js 'allows private-cache stale reuse with private' pins the
  // clock with `policy.now = () => policy._responseTime`.
  for (const [name, Policy] of [['ferrocache', CachePolicy], ['http-cache-semantics', PeerPolicy]]) {
    test(`${name}: is the construction time and survives toObject/fromObject`, () => {
      let t = 1_700_000_000_000
      class Clocked extends Policy { now () { return t } }
      const policy = new Clocked({ headers: {} }, {
        headers: { age: '10', 'cache-control': 'max-age=1, private, stale-while-revalidate=100, stale-if-error=100' }
      }, { shared: false })
      t += 5000
      assert.equal(policy._responseTime, 1_700_000_000_000)
      assert.equal(Clocked.fromObject(policy.toObject())._responseTime, 1_700_000_000_000)

      policy.now = () => policy._responseTime
      assert.equal(policy.age(), 10)
      assert.ok(policy.stale())
      assert.ok(policy.satisfiesWithoutRevalidation({ headers: { 'cache-control': 'max-stale' } }))
      assert.ok(policy.useStaleWhileRevalidate())
      assert.equal(policy.revalidatedPolicy({ headers: {} }, { status: 503, headers: {} }).policy, policy)
    })
  }

  test('is read-only and not serialised as an own property', () => {
    const policy = new CachePolicy({ headers: {} }, { headers: { 'cache-control': 'max-age=60' } })
    assert.throws(() => { 'use strict'; policy._responseTime = 1 }, TypeError)
    assert.equal(Object.keys(policy).includes('_responseTime'), false)
  })
})

describe('SqliteCacheStore#set (undici test/cache-interceptor/sqlite-cache-store-tests.js)', () => {
  const { SqliteCacheStore } = require('../index.js')
  const key = { origin: 'localhost', path: '/', method: 'GET', headers: {} }
  const value = (extra) => ({
    statusCode: 200,
    statusMessage: '',
    headers: { foo: 'bar' },
    cacheControlDirectives: { 'max-stale': 0 },
    cachedAt: Date.now(),
    staleAt: Date.now() + 10000,
    deleteAt: Date.now() + 20000,
    etag: undefined,
    vary: undefined,
    ...extra
  })

  // Mirrors 'SqliteCacheStore write & read': set() then get() gives the value back
  // (body as an array of Buffers here: see docs/sqlite-store.md).
  test('stores a whole response synchronously; get returns it', () => {
    const store = new SqliteCacheStore({ maxCount: 10 })
    const { body, ...meta } = value({ body: Buffer.from('asd') })
    store.set(key, { ...meta, body })
    assert.deepEqual(store.get(key), { ...meta, body: [Buffer.from('asd')] })
    assert.equal(store.count, 1)

    // a second set replaces the first (same key, same Vary)
    store.set(key, value({ body: [Buffer.from('a'), Buffer.from('bc')] }))
    assert.equal(Buffer.concat(store.get(key).body).toString(), 'abc')
    assert.equal(store.count, 1)

    store.set(key, value({ body: null }))
    assert.deepEqual(store.get(key).body, [])
    store.close()
  })

  test('respects maxEntrySize and deleteAt; bad bodies are a TypeError naming the field', () => {
    const store = new SqliteCacheStore({ maxEntrySize: 3 })
    store.set(key, value({ body: Buffer.from('four') }))
    assert.equal(store.get(key), undefined)
    store.set(key, value({ body: Buffer.from('abc') }))
    assert.equal(Buffer.concat(store.get(key).body).toString(), 'abc')

    const other = { ...key, path: '/gone' }
    store.set(other, value({ deleteAt: Date.now() - 1, cachedAt: Date.now() - 10, staleAt: Date.now() - 5, body: Buffer.from('x') }))
    assert.equal(store.get(other), undefined)

    assert.throws(() => store.set(key, value({ body: 'abc' })), { name: 'TypeError', message: /value\.body/ })
    assert.throws(() => store.set(key, value({ body: [Buffer.from('a'), 1] })), { name: 'TypeError', message: /value\.body/ })
    assert.throws(() => store.set(key, null), { name: 'TypeError', message: /value/ })
    assert.throws(() => store.set({ ...key, method: 'G ET' }, value({ body: null })), TypeError)
    // the failed calls left the stored response alone
    assert.equal(Buffer.concat(store.get(key).body).toString(), 'abc')
    store.close()
  })
})
