// No panic crosses into JS: a panic inside an export's body becomes a JS
// Error carrying the panic message, the process keeps running, and the store
// (or policy) that panicked serves the next call normally.
//
// The panic hooks (`__forcePanic`, src/napi/panic_hooks.rs) exist only in a
// debug build with the `panic-hooks` feature, which `npm test` builds into
// target/panic-hooks/ (`npm run build:panic-hooks`); the release addon the
// other suites load has none. This file swaps that debug addon in for
// ../binding.js before loading lib/, so the real JS classes drive it
// (node --test runs each file in its own process).

import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { existsSync, readdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'target', 'panic-hooks')
const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.node')) : undefined
const skip = file === undefined && 'no debug addon with panic hooks: run `npm run build:panic-hooks` (npm test does)'

let native, MemoryCacheStore, SqliteCacheStore, CachePolicy, createVsfDriver
before(() => {
  if (skip) return
  native = require(join(dir, file))
  require.cache[require.resolve('../binding.js')] = { id: 'binding', loaded: true, exports: native }
  ;({ MemoryCacheStore, SqliteCacheStore, CachePolicy } = require('../index.js'))
  ;({ createVsfDriver } = require('../lib/vsf.js'))
  assert.equal(typeof native.__forcePanic, 'function', 'the debug addon exports __forcePanic')
})

const key = (path) => ({ origin: 'http://localhost', method: 'GET', path, headers: {} })
const value = () => {
  const now = Date.now()
  return { statusCode: 200, statusMessage: 'OK', headers: {}, cacheControlDirectives: {}, cachedAt: now, staleAt: now + 60_000, deleteAt: now + 120_000 }
}
const text = (r) => r === undefined ? undefined : Buffer.concat(r.body).toString()

/** Asserts `fn` throws a plain Error whose message is the panic's. */
function panics (fn, site) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, `expected an Error, got ${err}`)
    assert.equal(err.message, `ferrocache: forced panic in ${site}`)
    return true
  })
}

test('a panic in the export itself is a JS Error; the next call works', { skip }, () => {
  panics(() => native.__forcePanic(), '__forcePanic')
  panics(() => native.__forcePanic(), '__forcePanic')
  assert.equal(native.noop(), undefined)
  assert.throws(() => native.__forcePanic('nowhere'), /unknown site 'nowhere'/)
  assert.deepEqual(native.__panicSites().sort(), [
    'memoryStoreCommit', 'memoryStoreLookup', 'pageCacheGet', 'policyEvaluatePlain',
    'policyFacts', 'policySummary', 'sqliteStoreFind', 'sqliteStoreReadAsync'
  ])
})

test('MemoryCacheStore: get and end() panicking inside Rust, then serving again', { skip }, () => {
  const errors = []
  const store = new MemoryCacheStore({ errorCallback: (err) => errors.push(err) })
  store.createWriteStream(key('/a'), value()).end('body a')

  // get(): the panic fires inside the lookup, with the key on Rust's stack.
  native.__forcePanic('memoryStoreLookup')
  panics(() => store.get(key('/a')), 'memoryStoreLookup')
  assert.equal(text(store.get(key('/a'))), 'body a', 'the same store serves the next get')

  // end(): the commit panics before the store is touched; the error reaches
  // errorCallback (as any commit failure does), nothing is stored.
  native.__forcePanic('memoryStoreCommit')
  store.createWriteStream(key('/b'), value()).end('body b')
  assert.equal(errors.length, 1)
  assert.equal(errors[0].message, 'ferrocache: forced panic in memoryStoreCommit')
  assert.equal(store.get(key('/b')), undefined)
  assert.equal(store.count, 1)
  store.createWriteStream(key('/b'), value()).end('body b')
  assert.equal(text(store.get(key('/b'))), 'body b', 'the next write is stored')
  assert.equal(text(store.get(key('/a'))), 'body a')
  assert.deepEqual([store.count, store.size], [2, 12])
})

test('SqliteCacheStore: sync and off-loop (libuv thread) reads panicking', { skip }, async () => {
  const store = new SqliteCacheStore({ location: ':memory:' })
  store.createWriteStream(key('/small'), value()).end('small')
  const large = Buffer.alloc(300 * 1024, 'x') // over the 256 KiB async threshold
  store.createWriteStream(key('/large'), value()).end(large)

  native.__forcePanic('sqliteStoreFind')
  panics(() => store.get(key('/small')), 'sqliteStoreFind')
  assert.equal(text(store.get(key('/small'))), 'small')

  // The read of a large body runs on the libuv pool, outside napi-rs's
  // catch_unwind: before the fix this aborted the process.
  native.__forcePanic('sqliteStoreReadAsync')
  const pending = store.get(key('/large'))
  assert.ok(pending instanceof Promise)
  await assert.rejects(pending, { message: 'ferrocache: forced panic in sqliteStoreReadAsync' })
  const r = await store.get(key('/large'))
  assert.equal(Buffer.concat(r.body).equals(large), true, 'the next read serves the body')
  store.close()
})

test('CachePolicy: constructor, Cache-Control parse and evaluation panicking', { skip }, () => {
  const req = { url: '/', method: 'GET', headers: {} }
  const res = (cc) => ({ status: 200, headers: { 'cache-control': cc } })

  native.__forcePanic('policySummary')
  // A Cache-Control value never seen before crosses to Rust once.
  panics(() => new CachePolicy(req, res('max-age=111')), 'policySummary')
  native.__forcePanic('policyFacts')
  panics(() => new CachePolicy(req, res('max-age=222')), 'policyFacts')

  const p = new CachePolicy(req, res('max-age=333'))
  native.__forcePanic('policyEvaluatePlain')
  panics(() => p.satisfiesWithoutRevalidation(req), 'policyEvaluatePlain')
  assert.equal(p.satisfiesWithoutRevalidation(req), true, 'the same policy answers next')
  assert.equal(new CachePolicy(req, res('max-age=111')).maxAge(), 111)
})

test('vsf driver: a panicking lookup rejects invoke(), the next one hits', { skip }, async () => {
  const driver = createVsfDriver({})
  const page = { html: '<p>1</p>' }
  const args = { route: '/p', render: async () => page, getTags: () => ['P1'] }
  assert.deepEqual(await driver.invoke(args), page)
  // A fresh driver on the same cache name would share pages; here the memo is
  // bypassed by a second driver object over its own cache: use delete + hit.
  const other = createVsfDriver({ name: 'panic-boundary', memoSize: 0 })
  await other.invoke(args)
  native.__forcePanic('pageCacheGet')
  await assert.rejects(() => other.invoke({ ...args, render: () => assert.fail('must not render') }),
    { message: 'ferrocache: forced panic in pageCacheGet' })
  assert.deepEqual(await other.invoke({ ...args, render: () => assert.fail('must not render') }), page)
})
