// Contract suite for undici `CacheStore`s with MemoryCacheStore's extras.
//
// `storeContract(name, makeStore, { reference })` registers one `describe`
// block. `makeStore(opts)` must return a fresh store built with `opts` (undici's
// MemoryCacheStore options: maxSize, maxCount, maxEntrySize, errorCallback).
// `get` may return a Promise (a SQLite store), so every read is awaited.
//
// `reference: true` runs the suite against undici's own store: tests where
// undici's behaviour IS the reference pass on both; tests of promises undici
// does not keep (exact limits, LRU, reclaiming expired entries, refusing
// hopeless writes) assert undici's known-worse behaviour instead, or are
// skipped with the reason, so a change in undici shows up here.
//
// `memory: false` (a future SqliteCacheStore) skips what only MemoryCacheStore
// has: `size`, `isFull()`, `'maxSizeExceeded'` and the maxSize option. The
// ours-only tests also read `count` and `stats()`, which every ferrocache store
// is expected to offer.
//
// Every test says in a comment which undici behaviour (or undici test) it pins.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const MiB = 1024 * 1024
const T0 = 1_700_000_000_000 // fixed fake "now" for tests that mock Date

/** `gc()` without --expose-gc on the command line. */
function getGc () {
  if (typeof globalThis.gc === 'function') return globalThis.gc
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc')
}

/** Whether the object `register` registers is garbage collected after `release` (bounded tries). */
async function collectedAfter (register, release) {
  const gc = getGc()
  let collected = false
  const registry = new FinalizationRegistry(() => { collected = true })
  await register((obj) => registry.register(obj, 'x'))
  await release()
  for (let i = 0; i < 30 && !collected; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  return collected
}

export function cacheKey (path = '/', extra = {}) {
  return { origin: 'http://localhost:3000', method: 'GET', path, headers: {}, ...extra }
}

export function cacheValue (extra = {}) {
  const now = Date.now()
  return {
    statusCode: 200,
    statusMessage: 'OK',
    headers: { 'content-type': 'text/plain' },
    cacheControlDirectives: {},
    cachedAt: now,
    staleAt: now + 10_000,
    deleteAt: now + 20_000,
    ...extra
  }
}

/** Writes `chunks` and ends the stream (synchronously, as undici's tests do). */
export function writeBody (stream, chunks) {
  for (const c of chunks) stream.write(c)
  stream.end()
  return stream
}

/** Waits until a stream finished or was destroyed (errors are swallowed). */
export async function settled (stream) {
  try { await finished(stream) } catch {}
}

/** Stores `body` (a string, Buffer or array of chunks) under `key`; returns the stream. */
export async function put (store, key, body = 'body', value = cacheValue()) {
  const ws = store.createWriteStream(key, value)
  assert.ok(ws, 'createWriteStream returned a stream')
  writeBody(ws, Array.isArray(body) ? body : [body])
  await settled(ws)
  return ws
}

export function bodyOf (result) {
  if (result === undefined) return undefined
  const body = result.body
  if (body == null) return Buffer.alloc(0)
  if (Buffer.isBuffer(body)) return body
  return Buffer.concat([...body].map((c) => Buffer.from(c)))
}

async function text (store, key) {
  const r = await store.get(key)
  return r === undefined ? undefined : bodyOf(r).toString()
}

const RESULT_KEYS = [
  'statusCode', 'statusMessage', 'headers', 'vary', 'etag', 'cacheControlDirectives',
  'cachedAt', 'staleAt', 'deleteAt', 'body'
].sort()

/** Compares a get() result with the value written, field by field, like undici's compareGetResults. */
function assertResult (actual, expected, body) {
  assert.notEqual(actual, undefined, 'expected a hit')
  assert.deepEqual(bodyOf(actual), Buffer.concat(body.map((c) => Buffer.from(c))))
  for (const k of Object.keys(expected)) assert.deepEqual(actual[k], expected[k], `field ${k}`)
}

export function storeContract (name, makeStore, { reference = false, memory = true } = {}) {
  const ours = !reference
  // Ours-only promises that use MemoryCacheStore's extras (count, clear, stats, purgeExpired).
  const extras = ours && memory
  const ifOurs = extras ? {} : { skip: reference ? 'undici store lacks this' : 'not a memory store' }
  // Tests of size, isFull(), 'maxSizeExceeded' and maxSize (undici's MemoryCacheStore API).
  const ifMemory = memory ? {} : { skip: 'store has no size / isFull / maxSizeExceeded' }
  const assertSize = (s, n) => { if (memory) assert.equal(s.size, n, 'size') }
  const LIMITS = memory ? ['maxSize', 'maxCount', 'maxEntrySize'] : ['maxCount', 'maxEntrySize']

  describe(name, () => {
    describe('options', () => {
      // undici: the constructor accepts no options and an options object.
      test('constructs with no options and with an empty object', () => {
        assert.ok(makeStore())
        assert.ok(makeStore({}))
      })

      // undici: `if (opts) { if (typeof opts !== 'object') throw ... }` — truthy non-objects throw.
      test('non-object options throw TypeError with undici\'s message', () => {
        for (const bad of ['big', 5, true, Symbol('x')]) {
          assert.throws(() => makeStore(bad), {
            name: 'TypeError', message: /options must be an object/
          }, String(typeof bad))
        }
      })

      // undici: each limit must be `typeof number && Number.isInteger && >= 0`.
      test('non-integer, negative or non-number limits throw TypeError naming the option', () => {
        for (const opt of LIMITS) {
          for (const bad of [-1, 1.5, '10', NaN, Infinity, -Infinity, null, 10n, {}]) {
            assert.throws(() => makeStore({ [opt]: bad }), {
              name: 'TypeError',
              message: new RegExp(`options\\.${opt} must be a non-negative integer`)
            }, `${opt}: ${String(bad)}`)
          }
        }
      })

      // undici: 0 is a valid limit; `undefined` keeps the default.
      test('zero limits and undefined limits are accepted', ifMemory, () => {
        assert.ok(makeStore({ maxSize: 0, maxCount: 0, maxEntrySize: 0 }))
        assert.ok(makeStore({ maxSize: undefined, maxCount: undefined, maxEntrySize: undefined }))
      })

      // undici's defaults: maxSize 104857600, maxCount 1024, maxEntrySize 5242880 (ours exposes them).
      test('defaults are undici\'s', ifOurs, () => {
        const s = makeStore()
        assert.equal(s.maxSize, 104857600)
        assert.equal(s.maxCount, 1024)
        assert.equal(s.maxEntrySize, 5242880)
        const t = makeStore({ maxSize: 7, maxCount: 3, maxEntrySize: 2 })
        assert.deepEqual([t.maxSize, t.maxCount, t.maxEntrySize], [7, 3, 2])
      })
    })

    describe('interface and result shape', () => {
      // undici cache-store-test-utils "matches interface".
      test('has get, createWriteStream and delete', () => {
        const s = makeStore()
        for (const m of ['get', 'createWriteStream', 'delete']) assert.equal(typeof s[m], 'function', m)
      })

      // undici: get() on a miss returns undefined synchronously (the interceptor checks `.then`).
      test('a miss is undefined', async () => {
        const s = makeStore()
        const r = s.get(cacheKey('/nothing'))
        // MemoryCacheStore (both): synchronously undefined, not a Promise.
        if (memory) assert.equal(r, undefined, 'a synchronous undefined')
        assert.equal(await r, undefined)
      })

      // undici: createWriteStream returns a node:stream Writable.
      test('createWriteStream returns a real stream.Writable', () => {
        const s = makeStore()
        const ws = s.createWriteStream(cacheKey(), cacheValue())
        assert.ok(ws instanceof Writable)
        ws.destroy()
      })

      // undici get(): every GetResult key is present (undefined when unknown), body an array of Buffers.
      test('a hit carries every GetResult key and an array of Buffers as body', async () => {
        const s = makeStore()
        await put(s, cacheKey(), ['abc', 'def'])
        const r = await s.get(cacheKey())
        assert.deepEqual(Object.keys(r).sort(), RESULT_KEYS)
        assert.equal(r.vary, undefined)
        assert.equal(r.etag, undefined)
        assert.ok(Array.isArray(r.body), 'body is an array (the 304 path iterates body.values())')
        for (const c of r.body) assert.ok(Buffer.isBuffer(c) || c instanceof Uint8Array)
        assert.equal(typeof r.body.values, 'function')
        assert.equal(bodyOf(r).toString(), 'abcdef')
      })

      // undici stores an empty body as [] and returns it.
      test('an empty body is stored and returned as an empty array', async () => {
        const s = makeStore()
        await put(s, cacheKey('/empty'), [])
        const r = await s.get(cacheKey('/empty'))
        assert.ok(Array.isArray(r.body))
        assert.equal(bodyOf(r).length, 0)
      })

      // undici get(): `vary: entry.vary ? entry.vary : undefined` — a null vary reads back undefined.
      test('vary null reads back as undefined', async () => {
        const s = makeStore()
        await put(s, cacheKey('/vn'), 'x', cacheValue({ vary: null }))
        const r = await s.get(cacheKey('/vn', { headers: { anything: '1' } }))
        assert.ok(r)
        assert.equal(r.vary, undefined)
        assert.ok(Object.hasOwn(r, 'vary'))
      })

      // undici returns etag, vary and directives as written.
      test('etag, vary, directives and times round-trip', async () => {
        const s = makeStore()
        const value = cacheValue({
          etag: '"v1"',
          vary: { 'accept-encoding': 'gzip', 'x-missing': null, 'x-list': ['a', 'b'] },
          cacheControlDirectives: { 'max-age': 10, public: true, 'no-cache': ['set-cookie'] },
          headers: { etag: '"v1"', 'set-thing': ['a', 'b'], 'x-unicode': 'Ünïcødé ✓' },
          statusCode: 203,
          statusMessage: 'Non-Authoritative'
        })
        const key = cacheKey('/rt', { headers: { 'accept-encoding': 'gzip', 'x-list': ['a', 'b'] } })
        await put(s, key, 'x', value)
        assertResult(await s.get(structuredClone(key)), value, ['x'])
      })
    })

    describe('undici store scenarios', () => {
      // undici cache-store-test-utils "caches request": two resources are told apart.
      test('caches request', async () => {
        const s = makeStore()
        const key = cacheKey('/')
        const value = cacheValue({ headers: { foo: 'bar' }, statusMessage: '' })
        const body = [Buffer.from('asd'), Buffer.from('123')]
        assert.equal(await s.get(key), undefined)
        writeBody(s.createWriteStream(key, value), body)
        assertResult(await s.get(structuredClone(key)), value, body)

        const other = cacheKey('/asd')
        const otherValue = cacheValue({ headers: { foo: 'baz' } })
        assert.equal(await s.get(other), undefined)
        writeBody(s.createWriteStream(other, otherValue), [Buffer.from('zzz')])
        assertResult(await s.get(structuredClone(other)), otherValue, [Buffer.from('zzz')])
        assertResult(await s.get(structuredClone(key)), value, body)
      })

      // undici "returns stale response before deleteAt": served while stale, gone after deleteAt.
      test('returns a stale response before deleteAt and nothing after', async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        const value = cacheValue({ staleAt: T0 + 1000, deleteAt: T0 + 5000 })
        const body = [Buffer.from('asd'), Buffer.from('123')]
        writeBody(s.createWriteStream(cacheKey(), value), body)
        t.mock.timers.tick(1500)
        assertResult(await s.get(cacheKey()), value, body)
        t.mock.timers.tick(6000)
        assert.equal(await s.get(cacheKey()), undefined)
      })

      // undici findEntry: `entry.deleteAt > now` — not served at exactly deleteAt.
      test('never returns an entry at deleteAt exactly', async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        await put(s, cacheKey(), 'x', cacheValue({ staleAt: T0 + 10, deleteAt: T0 + 100 }))
        t.mock.timers.tick(99)
        assert.ok(await s.get(cacheKey()))
        t.mock.timers.tick(1)
        assert.equal(await s.get(cacheKey()), undefined)
      })

      // undici "a stale request is overwritten".
      test('a stale response is overwritten by a newer write', async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        const v1 = cacheValue({ headers: { foo: 'bar' }, staleAt: T0 + 1000, deleteAt: T0 + 5000 })
        await put(s, cacheKey(), ['asd', '123'], v1)
        t.mock.timers.tick(1500)
        assertResult(await s.get(cacheKey()), v1, ['asd123'])
        const v2 = cacheValue({ headers: { foo: 'baz' }, staleAt: Date.now() + 1000, deleteAt: Date.now() + 5000 })
        await put(s, cacheKey(), ['foo', '123'], v2)
        assertResult(await s.get(cacheKey()), v2, ['foo123'])
        assertSize(s, 6)
      })

      // undici "vary directives used to decide which response to use".
      test('vary directives select the response', async () => {
        const s = makeStore()
        const k1 = cacheKey('/', { headers: { 'some-header': 'hello world' } })
        const v1 = cacheValue({ vary: { 'some-header': 'hello world' } })
        const k2 = cacheKey('/', { headers: { 'some-header': 'hello world2' } })
        const v2 = cacheValue({ vary: { 'some-header': 'hello world2' } })
        await put(s, k1, 'one', v1)
        assert.equal(await s.get(k2), undefined)
        await put(s, k2, 'two', v2)
        assertResult(await s.get(structuredClone(k1)), v1, ['one'])
        assertResult(await s.get(structuredClone(k2)), v2, ['two'])
        assert.equal(await s.get(cacheKey('/', { headers: {} })), undefined)
        assert.equal(await s.get(cacheKey('/', { headers: undefined })), undefined)
      })

      // undici memory-cache-store-tests "size getter returns correct total size".
      test('size getter counts body bytes', ifMemory, async () => {
        const s = makeStore()
        assertSize(s, 0)
        await put(s, cacheKey(), 'test data')
        assertSize(s, 9)
        await put(s, cacheKey('/utf8'), 'é✓') // 2 + 3 bytes
        assertSize(s, 14)
      })

      // undici "isFull returns false when under limits".
      test('isFull is false under the limits', ifMemory, async () => {
        const s = makeStore({ maxSize: 1000, maxCount: 10 })
        assert.equal(s.isFull(), false)
        await put(s, cacheKey(), 'x')
        assert.equal(s.isFull(), false)
      })

      // undici "isFull returns true when maxSize reached" (a maxSize + 1 entry).
      test('isFull is true after an entry larger than maxSize', ifMemory, async () => {
        const s = makeStore({ maxSize: 10 })
        const ws = s.createWriteStream(cacheKey(), cacheValue())
        writeBody(ws, ['x'.repeat(11)])
        assert.equal(s.isFull(), true)
      })

      // undici "isFull returns true when maxCount reached" (maxCount + 1 writes).
      test('isFull is true at maxCount', ifMemory, async () => {
        const s = makeStore({ maxCount: 2 })
        for (let i = 0; i <= 2; i++) s.createWriteStream(cacheKey(`/${i}`), cacheValue()).end('test')
        assert.equal(s.isFull(), true)
      })

      // undici "emits maxSizeExceeded event when limits exceeded": payload { size, maxSize, count, maxCount }.
      test('maxSizeExceeded payload', ifMemory, async () => {
        const s = makeStore({ maxSize: 10 })
        const events = []
        s.on('maxSizeExceeded', (p) => events.push(p))
        writeBody(s.createWriteStream(cacheKey(), cacheValue()), ['x'.repeat(11)])
        assert.equal(events.length, 1, 'emitted synchronously by end()')
        assert.deepEqual(events[0], { size: 11, maxSize: 10, count: 1, maxCount: 1024 })
      })

      // undici "default limits prevent memory leaks": 1025 writes at the default maxCount 1024.
      test('default maxCount 1024 is enforced', ifMemory, async () => {
        const s = makeStore()
        for (let i = 0; i < 1025; i++) {
          s.createWriteStream(cacheKey(`/test-${i}`), cacheValue()).end('test data')
        }
        assert.equal(s.isFull(), true)
        if (extras) {
          assert.equal(s.count, 1024)
          assert.equal(await s.get(cacheKey('/test-0')), undefined, 'the oldest was evicted')
          assert.ok(await s.get(cacheKey('/test-1024')))
        }
      })

      // undici "default maxEntrySize prevents large entries": 5 MiB + 1 is not cached.
      // A SqliteCacheStore's default is undici's SqliteCacheStore's (2 GB): the limit is given.
      test('a 5 MiB + 1 body is rejected by default', async () => {
        const s = memory ? makeStore() : makeStore({ maxEntrySize: 5 * MiB })
        const ws = s.createWriteStream(cacheKey('/large'), cacheValue())
        ws.on('error', () => {})
        writeBody(ws, [Buffer.alloc(5 * MiB + 1)])
        await settled(ws)
        assert.equal(await s.get(cacheKey('/large')), undefined)
        assertSize(s, 0)
      })
    })

    describe('matching', () => {
      // undici findEntry: `entry.method === key.method`.
      test('method is part of the match', async () => {
        const s = makeStore()
        await put(s, cacheKey('/m'), 'get')
        assert.equal(await s.get(cacheKey('/m', { method: 'HEAD' })), undefined)
        await put(s, cacheKey('/m', { method: 'HEAD' }), '')
        assert.equal(await text(s, cacheKey('/m')), 'get')
        assert.equal(await text(s, cacheKey('/m', { method: 'HEAD' })), '')
      })

      // undici keys on origin + path (query included); different ones never match.
      test('origin and path (with query) are part of the key', async () => {
        const s = makeStore()
        await put(s, cacheKey('/p?a=1'), 'a1')
        assert.equal(await s.get(cacheKey('/p?a=2')), undefined)
        assert.equal(await s.get(cacheKey('/p')), undefined)
        assert.equal(await s.get(cacheKey('/p?a=1', { origin: 'http://localhost:3001' })), undefined)
        assert.equal(await s.get(cacheKey('/p?a=1', { origin: 'https://localhost:3000' })), undefined)
        assert.equal(await text(s, cacheKey('/p?a=1')), 'a1')
      })

      // Ours: origin and path cannot collide. undici joins them as `${origin}:${path}`; this pair
      // (from the issue) stays distinct even there.
      test('origin http://a:1 + /x and origin http://a + :1/x are distinct', async () => {
        const s = makeStore()
        const k1 = { origin: 'http://a:1', method: 'GET', path: '/x', headers: {} }
        const k2 = { origin: 'http://a', method: 'GET', path: ':1/x', headers: {} }
        await put(s, k1, 'one')
        assert.equal(await s.get(k2), undefined)
        await put(s, k2, 'two')
        assert.equal(await text(s, k1), 'one')
        assert.equal(await text(s, k2), 'two')
      })

      // undici's `${origin}:${path}` key makes http://a:1 + /x and http://a + 1:/x the same
      // entry (known-worse); ours keeps them apart.
      test('origin/path boundary never collides (http://a + 1:/x)', async () => {
        const s = makeStore()
        const k1 = { origin: 'http://a:1', method: 'GET', path: '/x', headers: {} }
        const k2 = { origin: 'http://a', method: 'GET', path: '1:/x', headers: {} }
        await put(s, k1, 'one')
        if (reference) {
          assert.equal(await text(s, k2), 'one', 'undici: keys collide')
          return
        }
        assert.equal(await s.get(k2), undefined)
        await put(s, k2, 'two')
        assert.equal(await text(s, k1), 'one')
        assert.equal(await text(s, k2), 'two')
      })

      // undici keys a Map by the JS strings, so any two different paths are different entries,
      // even ones that are not well-formed UTF-16 (lone surrogates).
      test('paths differing only in lone surrogates are distinct', async () => {
        const s = makeStore()
        const k1 = cacheKey('/\uD800')
        const k2 = cacheKey('/\uDFFF')
        const k3 = cacheKey('/\uFFFD')
        await put(s, k1, 'one')
        await put(s, k2, 'two')
        assert.equal(await text(s, k3), undefined)
        assert.equal(await text(s, k1), 'one')
        assert.equal(await text(s, k2), 'two')
      })

      // undici headerValueEquals: `null` in vary matches a request without the header (and
      // only such requests).
      test('vary null matches only requests lacking the header', async () => {
        const s = makeStore()
        await put(s, cacheKey('/v', { headers: {} }), 'plain', cacheValue({ vary: { 'accept-encoding': null } }))
        assert.equal(await text(s, cacheKey('/v', { headers: {} })), 'plain')
        assert.equal(await text(s, cacheKey('/v', { headers: undefined })), 'plain')
        assert.equal(await text(s, cacheKey('/v', { headers: { 'accept-encoding': null } })), 'plain')
        assert.equal(await s.get(cacheKey('/v', { headers: { 'accept-encoding': 'gzip' } })), undefined)
        assert.equal(await s.get(cacheKey('/v', { headers: { 'accept-encoding': '' } })), undefined)
        await put(s, cacheKey('/v', { headers: { 'accept-encoding': 'gzip' } }), 'zipped',
          cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
        assert.equal(await text(s, cacheKey('/v', { headers: { 'accept-encoding': 'gzip' } })), 'zipped')
        assert.equal(await text(s, cacheKey('/v', { headers: {} })), 'plain')
      })

      // undici headerValueEquals: arrays compare element-wise in order; an array never equals a string.
      test('vary array values compare element-wise', async () => {
        const s = makeStore()
        const headers = { 'x-a': ['1', '2'] }
        await put(s, cacheKey('/arr', { headers }), 'list', cacheValue({ vary: { 'x-a': ['1', '2'] } }))
        assert.equal(await text(s, cacheKey('/arr', { headers: { 'x-a': ['1', '2'] } })), 'list')
        assert.equal(await s.get(cacheKey('/arr', { headers: { 'x-a': ['2', '1'] } })), undefined)
        assert.equal(await s.get(cacheKey('/arr', { headers: { 'x-a': ['1'] } })), undefined)
        assert.equal(await s.get(cacheKey('/arr', { headers: { 'x-a': '1, 2' } })), undefined)
        assert.equal(await s.get(cacheKey('/arr', { headers: { 'x-a': '1' } })), undefined)
        assert.equal(await s.get(cacheKey('/arr', { headers: {} })), undefined)
      })

      // undici: every vary header must match; extra request headers are ignored.
      test('all vary headers must match, others are ignored', async () => {
        const s = makeStore()
        const headers = { a: '1', b: '2', c: '3' }
        await put(s, cacheKey('/ab', { headers }), 'ab', cacheValue({ vary: { a: '1', b: '2' } }))
        assert.equal(await text(s, cacheKey('/ab', { headers: { a: '1', b: '2', c: 'other' } })), 'ab')
        assert.equal(await s.get(cacheKey('/ab', { headers: { a: '1', b: 'x' } })), undefined)
        assert.equal(await s.get(cacheKey('/ab', { headers: { a: '1' } })), undefined)
      })

      // undici: a vary-less entry answers any headers.
      test('an entry without vary matches any request headers', async () => {
        const s = makeStore()
        await put(s, cacheKey('/nv'), 'x', cacheValue({ vary: undefined }))
        assert.equal(await text(s, cacheKey('/nv', { headers: { anything: 'y' } })), 'x')
      })
    })

    describe('writes', () => {
      // undici memory store: the entry is pushed in final(), run synchronously by end().
      test('the entry is visible (and size updated) right after end(), not before', async () => {
        const s = makeStore()
        const ws = s.createWriteStream(cacheKey('/sync'), cacheValue())
        ws.write('abc')
        assert.equal(await s.get(cacheKey('/sync')), undefined, 'not visible before end()')
        assertSize(s, 0)
        ws.end('def')
        assertSize(s, 6)
        assert.equal(await text(s, cacheKey('/sync')), 'abcdef')
      })

      // undici: string chunks are Buffer.from(chunk, encoding).
      test('string chunks honour their encoding', async () => {
        const s = makeStore()
        const ws = s.createWriteStream(cacheKey('/enc'), cacheValue())
        ws.write('68656c6c6f', 'hex')
        ws.write('IHdvcmxk', 'base64')
        ws.write('!', 'latin1')
        ws.end()
        await settled(ws)
        assert.equal(await text(s, cacheKey('/enc')), 'hello world!')
        assertSize(s, 12)
      })

      // undici: a newer write of the same key + variant replaces the old one (size not doubled).
      test('a newer write of the same key and variant replaces the older one', async () => {
        const s = makeStore()
        await put(s, cacheKey('/r'), 'first')
        await put(s, cacheKey('/r'), 'second!')
        assert.equal(await text(s, cacheKey('/r')), 'second!')
        assertSize(s, 7)
        if (extras) assert.equal(s.count, 1)
      })

      // undici: other variants of the same resource are kept beside it.
      test('different variants coexist; replacing one keeps the other', async () => {
        const s = makeStore()
        const gz = cacheKey('/var', { headers: { 'accept-encoding': 'gzip' } })
        const br = cacheKey('/var', { headers: { 'accept-encoding': 'br' } })
        await put(s, gz, 'gz1', cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
        await put(s, br, 'br1', cacheValue({ vary: { 'accept-encoding': 'br' } }))
        await put(s, gz, 'gz2', cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
        assert.equal(await text(s, gz), 'gz2')
        assert.equal(await text(s, br), 'br1')
        assertSize(s, 6)
        if (extras) assert.equal(s.count, 2)
      })

      // undici createWriteStream/final: the entry replaced is `findEntry(key, entries)` — the
      // stored variant the *writing request* would have been served — whatever the new
      // response's Vary. So when an origin starts (or stops) sending Vary, or lists the same
      // headers in another order, the newer response replaces the older and is what get() serves.
      test('a newer write replaces the older one even when its Vary differs', async () => {
        const gz = cacheKey('/vx', { headers: { 'accept-encoding': 'gzip' } })
        {
          const s = makeStore()
          await put(s, gz, 'old-novary', cacheValue())
          await put(s, gz, 'new-vary', cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
          assert.equal(await text(s, gz), 'new-vary', 'Vary added: the newer response is served')
          assertSize(s, 8, 'the older response was replaced, not kept beside it')
        }
        {
          const s = makeStore()
          await put(s, gz, 'old-vary', cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
          await put(s, gz, 'new-novary', cacheValue())
          assert.equal(await text(s, gz), 'new-novary', 'Vary dropped: the newer response is served')
          assertSize(s, 10)
        }
        {
          const s = makeStore()
          const ab = cacheKey('/vy', { headers: { a: '1', b: '2' } })
          await put(s, ab, 'old-ab', cacheValue({ vary: { a: '1', b: '2' } }))
          await put(s, ab, 'new-ba', cacheValue({ vary: { b: '2', a: '1' } }))
          assert.equal(await text(s, ab), 'new-ba', 'same Vary in another order: replaced')
          assertSize(s, 6)
        }
      })

      // undici: whichever stream ends last wins; interleaved writers don't mix bodies.
      test('interleaved writers keep their bodies apart; last end() wins', async () => {
        const s = makeStore()
        const a = s.createWriteStream(cacheKey('/i'), cacheValue())
        const b = s.createWriteStream(cacheKey('/i'), cacheValue())
        const c = s.createWriteStream(cacheKey('/j'), cacheValue())
        a.write('a1'); b.write('b1'); c.write('c1'); a.write('a2'); b.write('b2')
        b.end(); c.end()
        assert.equal(await text(s, cacheKey('/i')), 'b1b2')
        a.end()
        await Promise.all([a, b, c].map(settled))
        assert.equal(await text(s, cacheKey('/i')), 'a1a2')
        assert.equal(await text(s, cacheKey('/j')), 'c1')
        assertSize(s, 6)
      })

      // undici: a destroyed (aborted) stream never reaches final(): nothing stored.
      test('a destroyed stream stores nothing', async () => {
        const s = makeStore()
        const ws = s.createWriteStream(cacheKey('/abort'), cacheValue())
        ws.on('error', () => {})
        ws.write('partial')
        ws.destroy(new Error('client went away'))
        await settled(ws)
        assert.equal(await s.get(cacheKey('/abort')), undefined)
        assertSize(s, 0)
      })

      // node:stream semantics (undici's stream is a plain Writable): write after end errors.
      test('write after end emits ERR_STREAM_WRITE_AFTER_END and keeps the entry', async () => {
        const s = makeStore()
        const ws = s.createWriteStream(cacheKey('/wae'), cacheValue())
        ws.end('done')
        const err = await new Promise((resolve) => {
          ws.on('error', resolve)
          ws.write('more')
        })
        assert.equal(err.code, 'ERR_STREAM_WRITE_AFTER_END')
        assert.equal(await text(s, cacheKey('/wae')), 'done')
      })

      // Ours: the body is copied going in; the caller may reuse its Buffer. (undici keeps a
      // reference to the caller's chunk: mutating it afterwards changes the cached body.)
      test('the caller may reuse its chunk Buffer after write', async () => {
        const s = makeStore()
        const chunk = Buffer.from('original')
        await put(s, cacheKey('/reuse'), [chunk])
        chunk.fill(0x7a)
        const got = await text(s, cacheKey('/reuse'))
        if (reference) assert.equal(got, 'zzzzzzzz', 'undici: the cached body aliases the caller\'s Buffer')
        else assert.equal(got, 'original')
      })
    })

    describe('maxEntrySize', () => {
      // Ours (and undici main): exactly maxEntrySize bytes is kept. undici 7.30 uses
      // `size >= maxEntrySize` and drops it — ours-only.
      test('a body of exactly maxEntrySize bytes is kept', ifOurs, async () => {
        const s = makeStore({ maxEntrySize: 10 })
        await put(s, cacheKey('/ten'), ['12345', '67890'])
        assert.equal(await text(s, cacheKey('/ten')), '1234567890')
        assertSize(s, 10)
      })

      // undici: a body over maxEntrySize destroys the stream and is not stored.
      test('maxEntrySize + 1 bytes is dropped and the stream destroyed', async () => {
        const s = makeStore({ maxEntrySize: 10 })
        await put(s, cacheKey('/keep'), 'k')
        const ws = s.createWriteStream(cacheKey('/eleven'), cacheValue())
        ws.on('error', () => {})
        ws.write('12345')
        ws.write('678901')
        assert.equal(ws.destroyed, true)
        ws.end()
        await settled(ws)
        assert.equal(await s.get(cacheKey('/eleven')), undefined)
        assertSize(s, 1)
        assert.equal(await text(s, cacheKey('/keep')), 'k')
      })

      // Ours: a too-large rewrite leaves the older response of that key in place.
      test('an oversized rewrite does not disturb the stored response', async () => {
        const s = makeStore({ maxEntrySize: 4 })
        await put(s, cacheKey('/o'), 'old')
        const ws = s.createWriteStream(cacheKey('/o'), cacheValue())
        ws.on('error', () => {})
        ws.end('too long')
        await settled(ws)
        assert.equal(await text(s, cacheKey('/o')), 'old')
        assertSize(s, 3)
      })

      // Ours: a declared content-length over the limits means no stream at all.
      // undici always returns a stream (and destroys it once the body arrives).
      test('content-length over maxEntrySize or maxSize: no stream', ifOurs, () => {
        const s = makeStore({ maxEntrySize: 100, maxSize: 50 })
        assert.equal(s.createWriteStream(cacheKey('/cl'), cacheValue({ headers: { 'content-length': '101' } })), undefined)
        assert.equal(s.createWriteStream(cacheKey('/cl'), cacheValue({ headers: { 'content-length': '51' } })), undefined)
        const ok = s.createWriteStream(cacheKey('/cl'), cacheValue({ headers: { 'content-length': '50' } }))
        assert.ok(ok)
        ok.destroy()
      })
    })

    describe('uncacheable writes', () => {
      // Ours: an already-expired value yields no stream. undici returns one, stores the entry,
      // and merely never serves it.
      test('a value already past deleteAt: no stream, nothing stored', async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        const v = cacheValue({ cachedAt: T0 - 2000, staleAt: T0 - 1000, deleteAt: T0 })
        const ws = s.createWriteStream(cacheKey('/dead'), v)
        if (reference) {
          assert.ok(ws, 'undici: returns a stream anyway')
          ws.end('x')
          assert.equal(await s.get(cacheKey('/dead')), undefined)
          assertSize(s, 1, 'undici: the dead entry occupies space')
          return
        }
        assert.equal(ws, undefined)
        assertSize(s, 0)
      })

      // Ours: maxCount 0 stores nothing (no stream). undici stores the entry anyway: its
      // eviction `splice(0, length / 2)` removes nothing from a one-entry list.
      test('maxCount 0: no stream, nothing stored', async () => {
        const s = makeStore({ maxCount: 0 })
        const ws = s.createWriteStream(cacheKey('/zero'), cacheValue())
        if (reference) {
          ws.end('x')
          assert.equal(await text(s, cacheKey('/zero')), 'x', 'undici: kept despite maxCount 0')
          return
        }
        assert.equal(ws, undefined)
        assertSize(s, 0)
        assert.equal(s.count, 0)
      })
    })

    describe('delete, clear, count, stats', () => {
      // undici delete(): removes `${origin}:${path}` — every method and variant.
      test('delete removes every variant and method of origin + path', async () => {
        const s = makeStore()
        await put(s, cacheKey('/d', { headers: { a: '1' } }), 'v1', cacheValue({ vary: { a: '1' } }))
        await put(s, cacheKey('/d', { headers: { a: '2' } }), 'v2', cacheValue({ vary: { a: '2' } }))
        await put(s, cacheKey('/d', { method: 'HEAD' }), '')
        await put(s, cacheKey('/d?q'), 'query')
        await put(s, cacheKey('/d', { origin: 'http://other' }), 'other')
        await s.delete(cacheKey('/d', { method: 'POST', headers: {} }))
        assert.equal(await s.get(cacheKey('/d', { headers: { a: '1' } })), undefined)
        assert.equal(await s.get(cacheKey('/d', { headers: { a: '2' } })), undefined)
        assert.equal(await s.get(cacheKey('/d', { method: 'HEAD' })), undefined)
        assert.equal(await text(s, cacheKey('/d?q')), 'query')
        assert.equal(await text(s, cacheKey('/d', { origin: 'http://other' })), 'other')
        assertSize(s, 10)
        if (extras) assert.equal(s.count, 2)
        await s.delete(cacheKey('/never-stored'))
        assertSize(s, 10)
      })

      // Ours: count, clear() and stats() (undici's store has none of them).
      test('count and clear', ifOurs, async () => {
        const s = makeStore()
        assert.equal(s.count, 0)
        await put(s, cacheKey('/1'), 'a')
        await put(s, cacheKey('/2'), 'bb')
        assert.equal(s.count, 2)
        s.clear()
        assert.equal(s.count, 0)
        assertSize(s, 0)
        assert.equal(await s.get(cacheKey('/1')), undefined)
        await put(s, cacheKey('/1'), 'again')
        assert.equal(await text(s, cacheKey('/1')), 'again')
      })

      test('stats counts hits, misses, writes, evictions and expiries', ifOurs, async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore({ maxCount: 2 })
        assert.deepEqual(s.stats(), { hits: 0, misses: 0, writes: 0, evictions: 0, expired: 0, size: 0, count: 0, hitRatio: 0 })
        await put(s, cacheKey('/a'), 'aa', cacheValue({ deleteAt: T0 + 100 }))
        await put(s, cacheKey('/b'), 'bbb')
        await s.get(cacheKey('/b'))
        await s.get(cacheKey('/b'))
        await s.get(cacheKey('/nope'))
        await put(s, cacheKey('/c'), 'c') // evicts /a (least recently used)
        t.mock.timers.tick(1000)
        const st = s.stats()
        assert.deepEqual({ ...st, hitRatio: undefined }, {
          hits: 2, misses: 1, writes: 3, evictions: 1, expired: 0, size: 4, count: 2, hitRatio: undefined
        })
        assert.equal(st.hitRatio, 2 / 3)
      })
      // Ours: a get that served an entry is a hit, and a lookup whose variants don't match the
      // request's Vary'd headers is a miss — whatever happens to the entry afterwards (undici's
      // interceptor deletes an entry right after reading it when a 304 changes cache-control).
      test('stats: a hit stays a hit after delete or clear; a Vary mismatch is a miss', ifOurs, async () => {
        const s = makeStore()
        const gz = cacheKey('/s', { headers: { 'accept-encoding': 'gzip' } })
        await put(s, gz, 'z', cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
        assert.equal(await s.get(cacheKey('/s', { headers: { 'accept-encoding': 'br' } })), undefined)
        assert.ok(await s.get(gz))
        await s.delete(gz)
        assert.deepEqual([s.stats().hits, s.stats().misses], [1, 1], 'get then delete')
        await put(s, gz, 'z', cacheValue({ vary: { 'accept-encoding': 'gzip' } }))
        assert.ok(await s.get(gz))
        s.clear()
        assert.deepEqual([s.stats().hits, s.stats().misses], [2, 1], 'get then clear')
        assert.equal(s.stats().hitRatio, 2 / 3)
      })
    })

    describe('limits and eviction', () => {
      // Ours: exact limits after every write. undici keeps every entry when each path has a
      // single variant (known-worse: 1000 entries kept at maxCount 100).
      test('count never exceeds maxCount (one variant per path)', async () => {
        const s = makeStore({ maxCount: 100 })
        for (let i = 0; i < 1000; i++) {
          await put(s, cacheKey(`/${i}`), 'x')
          if (extras) assert.ok(s.count <= 100, `count ${s.count} after write ${i}`)
        }
        let kept = 0
        for (let i = 0; i < 1000; i++) if (await s.get(cacheKey(`/${i}`))) kept++
        if (reference) {
          assert.equal(kept, 1000, 'undici: nothing evicted')
          return
        }
        assert.equal(kept, 100)
        assert.equal(s.count, 100)
        for (let i = 900; i < 1000; i++) assert.ok(await s.get(cacheKey(`/${i}`)), `recent /${i} kept`)
      })

      // Ours: size never exceeds maxSize. undici: size grows past it (known-worse).
      test('size never exceeds maxSize', ifMemory, async () => {
        const s = makeStore({ maxSize: 100 })
        for (let i = 0; i < 200; i++) {
          await put(s, cacheKey(`/${i}`), Buffer.alloc(7, i))
          if (extras) assert.ok(s.size <= 100, `size ${s.size} after write ${i}`)
        }
        if (reference) {
          assert.ok(s.size > 100, 'undici: size exceeds maxSize')
          return
        }
        assertSize(s, 98)
        assert.equal(s.count, 14)
      })

      // Ours: true LRU by last get. undici evicts by insertion halves (skip).
      test('eviction is least recently used, by last get', ifOurs, async () => {
        const s = makeStore({ maxCount: 3 })
        await put(s, cacheKey('/a'), 'a')
        await put(s, cacheKey('/b'), 'b')
        await put(s, cacheKey('/c'), 'c')
        assert.ok(await s.get(cacheKey('/a')))
        await put(s, cacheKey('/d'), 'd')
        assert.equal(await s.get(cacheKey('/b')), undefined, 'b was least recently used')
        assert.ok(await s.get(cacheKey('/c')))
        await put(s, cacheKey('/e'), 'e')
        assert.equal(await s.get(cacheKey('/a')), undefined, 'a is now the least recently used')
        assert.deepEqual(
          [await text(s, cacheKey('/c')), await text(s, cacheKey('/d')), await text(s, cacheKey('/e'))],
          ['c', 'd', 'e'])
        assert.equal(s.count, 3)
      })

      // Ours: evicts as many LRU entries as needed to fit a large one, no more.
      test('a large write evicts just enough least recently used entries', ifOurs, async () => {
        const s = makeStore({ maxSize: 10 })
        for (const p of ['a', 'b', 'c', 'd', 'e']) await put(s, cacheKey(`/${p}`), p + p) // 10 bytes
        assert.ok(await s.get(cacheKey('/a')))
        await put(s, cacheKey('/big'), 'XXXXX') // needs 5: evicts b, c, d
        assertSize(s, 9)
        assert.deepEqual(
          await Promise.all(['a', 'b', 'c', 'd', 'e', 'big'].map(async (p) => text(s, cacheKey(`/${p}`)))),
          ['aa', undefined, undefined, undefined, 'ee', 'XXXXX'])
      })

      // Ours: an entry larger than maxSize is refused, the others stay, isFull() turns true
      // (undici's "isFull returns true when maxSize reached"). undici stores it (size > maxSize).
      test('an entry larger than maxSize is refused and isFull() is true', ifMemory, async () => {
        const s = makeStore({ maxSize: 10, maxEntrySize: 100 })
        await put(s, cacheKey('/small'), 'abc')
        await put(s, cacheKey('/huge'), 'x'.repeat(11))
        assert.equal(s.isFull(), true)
        if (reference) {
          assertSize(s, 14, 'undici: stored past maxSize')
          return
        }
        assert.equal(await s.get(cacheKey('/huge')), undefined)
        assert.equal(await text(s, cacheKey('/small')), 'abc')
        assertSize(s, 3)
        assert.equal(s.count, 1)
        // a write that fits clears the refused state
        await put(s, cacheKey('/ok'), 'ok')
        assert.equal(s.isFull(), false)
      })

      // Ours: 'maxSizeExceeded' once per crossing: not again while at the limit, again after
      // usage went below both limits and a write crosses anew. undici emits once (its re-arm
      // needs usage below both limits inside its eviction branch).
      test('maxSizeExceeded is emitted once per crossing', ifMemory, async () => {
        const s = makeStore({ maxCount: 2 })
        const events = []
        s.on('maxSizeExceeded', (p) => events.push(p))
        await put(s, cacheKey('/1'), 'a')
        await put(s, cacheKey('/2'), 'b')
        assert.equal(events.length, 0, 'reaching the limit is not exceeding it')
        await put(s, cacheKey('/3'), 'c')
        assert.equal(events.length, 1)
        assert.deepEqual(events[0], { size: 3, maxSize: 104857600, count: 3, maxCount: 2 })
        await put(s, cacheKey('/4'), 'd')
        assert.equal(events.length, 1, 'still at the limit: no second event')
        if (reference) return
        await s.delete(cacheKey('/4')) // count 1: below the limit again
        await put(s, cacheKey('/5'), 'e')
        assert.equal(events.length, 1)
        await put(s, cacheKey('/6'), 'f')
        assert.equal(events.length, 2, 'a new crossing after going below the limit')
        assert.equal(s.count, 2)
      })

      // undici: after the refused (larger than maxSize) write of its "isFull returns true when
      // maxSize reached" test, further refused writes emit nothing (the store stays "full").
      // Ours: the store stays full (isFull() true) until a write fits, so the same holds: one
      // event per crossing, not one per refused response.
      test('repeated refused writes emit maxSizeExceeded once', ifMemory, async () => {
        const s = makeStore({ maxSize: 10, maxEntrySize: 100 })
        const events = []
        s.on('maxSizeExceeded', (p) => events.push(p))
        for (let i = 0; i < 3; i++) await put(s, cacheKey(`/big${i}`), 'x'.repeat(11))
        assert.equal(s.isFull(), true)
        assert.equal(events.length, 1, `one event for one crossing, got ${events.length}`)
      })

      // Ours: a replacement at the limit is not a crossing and evicts nothing.
      test('replacing an entry at maxCount evicts nothing', ifOurs, async () => {
        const s = makeStore({ maxCount: 2 })
        const events = []
        s.on('maxSizeExceeded', (p) => events.push(p))
        await put(s, cacheKey('/1'), 'a')
        await put(s, cacheKey('/2'), 'b')
        await put(s, cacheKey('/1'), 'A')
        assert.equal(events.length, 0)
        assert.equal(await text(s, cacheKey('/1')), 'A')
        assert.equal(await text(s, cacheKey('/2')), 'b')
      })
    })

    describe('expiry', () => {
      // Ours: expired entries are reclaimed (count and size drop), not just hidden. undici
      // only hides them: its size keeps counting them (known-worse).
      test('expired entries are reclaimed on the next write', ifMemory, async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        for (let i = 0; i < 10; i++) {
          await put(s, cacheKey(`/e${i}`), 'xx', cacheValue({ staleAt: T0 + 50, deleteAt: T0 + 100 }))
        }
        await put(s, cacheKey('/long'), 'y', cacheValue({ staleAt: T0 + 50_000, deleteAt: T0 + 100_000 }))
        assertSize(s, 21)
        t.mock.timers.tick(100)
        await put(s, cacheKey('/new'), 'z', cacheValue({ staleAt: Date.now() + 1000, deleteAt: Date.now() + 2000 }))
        if (reference) {
          assertSize(s, 22, 'undici: expired bodies still counted')
          return
        }
        assert.equal(s.count, 2)
        assertSize(s, 2)
        assert.equal(s.stats().expired, 10)
      })

      // Ours: a response whose deleteAt passes while its body streams in is dead on arrival:
      // end() must not store it, and it must not evict a live entry to make room. undici stores
      // it anyway (its size counts the dead body).
      test('an entry that expires before end() is not stored and evicts nothing', async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore({ maxCount: 1 })
        await put(s, cacheKey('/live'), 'live', cacheValue({ staleAt: T0 + 10_000, deleteAt: T0 + 20_000 }))
        const ws = s.createWriteStream(cacheKey('/dying'), cacheValue({ staleAt: T0 + 50, deleteAt: T0 + 100 }))
        ws.write('dead')
        t.mock.timers.tick(200)
        ws.end()
        await settled(ws)
        assert.equal(await s.get(cacheKey('/dying')), undefined)
        if (reference) {
          assertSize(s, 8, 'undici: the dead body is stored')
          return
        }
        assert.equal(s.count, 1, 'only the live entry is held')
        assert.equal(await text(s, cacheKey('/live')), 'live', 'the live entry was not evicted for a dead one')
        assert.equal(s.stats().evictions, 0)
      })

      // Ours: a get that meets an expired entry reclaims it.
      test('a get of an expired entry reclaims it', ifOurs, async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        await put(s, cacheKey('/x'), 'abc', cacheValue({ staleAt: T0 + 10, deleteAt: T0 + 20 }))
        t.mock.timers.tick(20)
        assert.equal(await s.get(cacheKey('/x')), undefined)
        assert.equal(s.count, 0)
        assertSize(s, 0)
      })

      // Ours: reclaiming means the memory goes too. A get that meets an expired entry removes
      // it from the store, and the body handed out earlier must then be collectable once the
      // caller drops it — with get-only traffic, before any later write. (undici never reclaims.)
      test('a body reclaimed by a get is released without waiting for a write', ifOurs, async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        await put(s, cacheKey('/gc'), Buffer.alloc(64 * 1024, 1), cacheValue({ staleAt: T0 + 5, deleteAt: T0 + 10 }))
        const collected = await collectedAfter(async (register) => {
          const r = await s.get(cacheKey('/gc'))
          register(r.body[0])
        }, async () => {
          t.mock.timers.tick(20)
          assert.equal(await s.get(cacheKey('/gc')), undefined)
          assert.equal(s.count, 0)
        })
        assert.ok(collected, 'the expired body is still held by the store')
      })

      // Control for the test above: after delete() the body is released.
      test('a deleted body is released', ifOurs, async () => {
        const s = makeStore()
        await put(s, cacheKey('/gc2'), Buffer.alloc(64 * 1024, 1))
        const collected = await collectedAfter(async (register) => {
          const r = await s.get(cacheKey('/gc2'))
          register(r.body[0])
        }, async () => { await s.delete(cacheKey('/gc2')) })
        assert.ok(collected)
      })

      // Ours: expired entries don't push live ones out (they go first).
      test('expired entries make room before live ones are evicted', ifOurs, async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore({ maxCount: 2 })
        await put(s, cacheKey('/live'), 'l', cacheValue({ staleAt: T0 + 10_000, deleteAt: T0 + 20_000 }))
        await put(s, cacheKey('/short'), 's', cacheValue({ staleAt: T0 + 10, deleteAt: T0 + 20 }))
        t.mock.timers.tick(30)
        await put(s, cacheKey('/new'), 'n', cacheValue({ staleAt: Date.now() + 10, deleteAt: Date.now() + 20_000 }))
        assert.equal(await text(s, cacheKey('/live')), 'l')
        assert.equal(s.stats().evictions, 0)
      })

      // Ours: purgeExpired() reclaims every expired entry now and says how many.
      test('purgeExpired reclaims expired entries', ifOurs, async (t) => {
        t.mock.timers.enable({ apis: ['Date'], now: T0 })
        const s = makeStore()
        await put(s, cacheKey('/p1'), 'a', cacheValue({ staleAt: T0 + 5, deleteAt: T0 + 10 }))
        await put(s, cacheKey('/p2'), 'b', cacheValue({ staleAt: T0 + 5, deleteAt: T0 + 10 }))
        await put(s, cacheKey('/p3'), 'c', cacheValue({ staleAt: T0 + 5_000, deleteAt: T0 + 10_000 }))
        t.mock.timers.tick(10)
        assert.equal(s.purgeExpired(), 2)
        assert.equal(s.count, 1)
        assertSize(s, 1)
        assert.equal(s.stats().expired, 2)
      })

      // Ours: staleAt/deleteAt of Infinity round-trip (times are not forced through JSON numbers).
      test('deleteAt Infinity round-trips', ifOurs, async () => {
        const s = makeStore()
        const v = cacheValue({ staleAt: Infinity, deleteAt: Infinity })
        await put(s, cacheKey('/inf'), 'i', v)
        const r = await s.get(cacheKey('/inf'))
        assert.equal(r.deleteAt, Infinity)
        assert.equal(r.staleAt, Infinity)
      })
    })

    describe('bodies', () => {
      // undici hands back the same chunk objects on each hit; ours the same memory (no copy).
      test('repeated hits return the same Buffer memory', async () => {
        const s = makeStore()
        await put(s, cacheKey('/same'), Buffer.alloc(16 * 1024, 1))
        const a = await s.get(cacheKey('/same'))
        const b = await s.get(cacheKey('/same'))
        assert.equal(a.body.length, b.body.length)
        for (let i = 0; i < a.body.length; i++) {
          assert.equal(a.body[i].buffer, b.body[i].buffer, 'same ArrayBuffer')
          assert.equal(a.body[i].byteOffset, b.body[i].byteOffset)
          assert.equal(a.body[i].byteLength, b.body[i].byteLength)
        }
      })

      // Ours: a replaced entry's new body is served, not a stale memo of the old one.
      test('a replaced entry serves the new body, not a stale memo', async () => {
        const s = makeStore()
        await put(s, cacheKey('/memo'), 'old')
        assert.equal(await text(s, cacheKey('/memo')), 'old')
        await put(s, cacheKey('/memo'), 'new')
        assert.equal(await text(s, cacheKey('/memo')), 'new')
        await s.delete(cacheKey('/memo'))
        assert.equal(await s.get(cacheKey('/memo')), undefined)
        await put(s, cacheKey('/memo'), 'newer')
        assert.equal(await text(s, cacheKey('/memo')), 'newer')
      })
    })
  })
}
