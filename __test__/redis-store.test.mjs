// RedisCacheStore against a real redis-server (started here on a free port):
// undici's CacheStore contract (the cases of undici's
// test/cache-interceptor/cache-store-test-utils.js, with its synchronous
// `store.get` checks awaited, plus the shape rules undici's stores keep), with
// and without the L1; then what only a shared store has: coherence between
// instances, expiry in Redis, breaker behaviour, worker threads, exit.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { startRedis, redisSkipReason, freePort } from './helpers/redis-server.mjs'
import { cacheKey, cacheValue, writeBody, settled, put, bodyOf } from './helpers/store-contract.mjs'

const require = createRequire(import.meta.url)
const { RedisCacheStore } = require('../index.js')

const skip = redisSkipReason() ?? false
let redis
let seq = 0
const stores = []

before(async () => { if (!skip) redis = await startRedis() })
after(async () => {
  for (const s of stores) await s.close()
  await redis?.stop()
})

/** A store on the test server with its own key prefix (tests stay apart). */
function open (opts = {}) {
  const s = new RedisCacheStore({ url: redis.url, keyPrefix: `t${seq++}:`, ...opts })
  stores.push(s)
  return s
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `cond` every 2 ms for up to `ms`. */
async function eventually (cond, ms = 2000) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await cond()) return true
    await sleep(2)
  }
  return cond()
}

const RESULT_KEYS = ['body', 'cacheControlDirectives', 'cachedAt', 'deleteAt', 'etag', 'headers',
  'staleAt', 'statusCode', 'statusMessage', 'vary']

for (const [label, l1] of [['with L1', undefined], ['without L1', false]]) {
  describe(`RedisCacheStore contract (${label})`, { skip }, () => {
    const make = (opts) => open({ l1, ...opts })

    // undici cache-store-test-utils: 'matches interface'
    test('has get, createWriteStream and delete', () => {
      for (const m of ['get', 'createWriteStream', 'delete']) assert.equal(typeof RedisCacheStore.prototype[m], 'function')
    })

    // undici cache-store-test-utils: 'caches request' (two resources kept apart)
    test('caches request', async () => {
      const store = make()
      const key = cacheKey('/')
      const value = cacheValue({ headers: { foo: 'bar' } })
      assert.equal(await store.get(key), undefined)
      writeBody(store.createWriteStream(key, value), [Buffer.from('asd'), Buffer.from('123')])
      const r = await store.get(structuredClone(key))
      assert.deepEqual(bodyOf(r).toString(), 'asd123')
      for (const k of Object.keys(value)) assert.deepEqual(r[k], value[k], k)
      const other = cacheKey('/asd')
      assert.equal(await store.get(other), undefined)
      writeBody(store.createWriteStream(other, value), [Buffer.from('other')])
      assert.equal(bodyOf(await store.get(other)).toString(), 'other')
      assert.equal(bodyOf(await store.get(key)).toString(), 'asd123')
    })

    // undici: every GetResult key present, body an array of Buffers (the
    // interceptor's 304 path iterates body.values()).
    test('a hit carries every GetResult key and an array of Buffers', async () => {
      const store = make()
      await put(store, cacheKey('/shape'), 'x')
      for (let i = 0; i < 2; i++) { // L2 read, then (with L1) an L1 hit
        const r = await store.get(cacheKey('/shape'))
        assert.deepEqual(Object.keys(r).sort(), RESULT_KEYS)
        assert.ok(Array.isArray(r.body) && r.body.every(Buffer.isBuffer))
        assert.equal(r.etag, undefined)
      }
    })

    test('an empty body is stored and returned as an empty array', async () => {
      const store = make()
      await put(store, cacheKey('/empty'), [])
      assert.deepEqual((await store.get(cacheKey('/empty'))).body, [])
    })

    // undici cache-store-test-utils: 'returns stale response before deleteAt'
    // (under fake timers: the clock is the caller's Date.now()).
    test('returns a stale response before deleteAt and nothing after (caller clock)', async (t) => {
      const store = make()
      let now = 1_000 // a faked Date far in the past, as @sinonjs/fake-timers installs by default
      t.mock.method(Date, 'now', () => now)
      const value = cacheValue({ cachedAt: now, staleAt: now + 1000, deleteAt: now + 5000 })
      await put(store, cacheKey('/stale'), 'asd', value)
      now += 1500
      assert.equal(bodyOf(await store.get(cacheKey('/stale'))).toString(), 'asd')
      assert.equal(bodyOf(await store.get(cacheKey('/stale'))).toString(), 'asd')
      now += 6000
      assert.equal(await store.get(cacheKey('/stale')), undefined)
    })

    // undici cache-store-test-utils: 'a stale request is overwritten'; issue:
    // an overwrite (v1 then v2) is never lost or reordered.
    test('v1 then v2 written back to back: v2 is served, here and on another instance', async () => {
      const a = make()
      const b = make({ keyPrefix: undefined, commandTimeout: 251 })
      const prefix = `ow${seq++}:`
      const a2 = make({ keyPrefix: prefix })
      const b2 = make({ keyPrefix: prefix, commandTimeout: 251 })
      void a; void b
      for (let round = 0; round < 20; round++) {
        const key = cacheKey(`/ow${round}`)
        await b2.get(key) // B looks first (fills nothing, warms its path)
        const w1 = a2.createWriteStream(key, cacheValue({ headers: { v: '1' } }))
        const w2 = a2.createWriteStream(key, cacheValue({ headers: { v: '2' } }))
        writeBody(w1, ['one'])
        writeBody(w2, ['two'])
        assert.equal(bodyOf(await a2.get(key)).toString(), 'two')
        await settled(w2)
        assert.equal(bodyOf(await b2.get(key)).toString(), 'two', `round ${round}`)
        assert.equal(bodyOf(await b2.get(key)).toString(), 'two', `round ${round} (second read)`)
      }
    })

    // undici cache-store-test-utils: 'vary directives used to decide which response to use'
    test('vary directives select the response', async () => {
      const store = make()
      const k1 = cacheKey('/v', { headers: { 'some-header': 'hello world' } })
      const k2 = cacheKey('/v', { headers: { 'some-header': 'hello world2' } })
      await put(store, k1, 'one', cacheValue({ vary: { 'some-header': 'hello world' } }))
      assert.equal(await store.get(k2), undefined)
      await put(store, k2, 'two', cacheValue({ vary: { 'some-header': 'hello world2' } }))
      assert.equal(bodyOf(await store.get(k1)).toString(), 'one')
      assert.equal(bodyOf(await store.get(k2)).toString(), 'two')
      assert.deepEqual((await store.get(k2)).vary, { 'some-header': 'hello world2' })
    })

    // undici varyMatches: null = the request lacked the header.
    test('vary null matches only requests lacking the header', async () => {
      const store = make()
      await put(store, cacheKey('/n'), 'none', cacheValue({ vary: { 'accept-language': null } }))
      assert.equal(bodyOf(await store.get(cacheKey('/n'))).toString(), 'none')
      assert.deepEqual((await store.get(cacheKey('/n'))).vary, { 'accept-language': null })
      assert.equal(await store.get(cacheKey('/n', { headers: { 'accept-language': 'en' } })), undefined)
    })

    // issue 12 pitfall: array-valued request headers match Vary (element-wise).
    test('array-valued request headers match Vary element-wise', async () => {
      const store = make()
      const headers = { accept: ['a', 'b'] }
      await put(store, cacheKey('/arr', { headers }), 'ab', cacheValue({ vary: { accept: ['a', 'b'] } }))
      assert.equal(bodyOf(await store.get(cacheKey('/arr', { headers: { accept: ['a', 'b'] } }))).toString(), 'ab')
      assert.equal(await store.get(cacheKey('/arr', { headers: { accept: ['b', 'a'] } })), undefined)
      assert.equal(await store.get(cacheKey('/arr', { headers: { accept: 'a, b' } })), undefined)
    })

    // undici MemoryCacheStore: a write replaces the response its request would be served.
    test('a newer write replaces the older one even when its Vary differs', async () => {
      const store = make()
      const key = cacheKey('/rv', { headers: { 'accept-language': 'fr' } })
      await put(store, key, 'fr', cacheValue({ vary: { 'accept-language': 'fr' } }))
      await put(store, cacheKey('/rv', { headers: { 'accept-language': 'en' } }), 'en', cacheValue({ vary: { 'accept-language': 'en' } }))
      await put(store, key, 'plain', cacheValue())
      assert.equal(bodyOf(await store.get(key)).toString(), 'plain')
      // The en variant was served to en requests before; the plain one came later
      // and serves anyone, but the first match in write order is en.
      assert.equal(bodyOf(await store.get(cacheKey('/rv', { headers: { 'accept-language': 'en' } }))).toString(), 'en')
    })

    test('method, origin and path are part of the key', async () => {
      const store = make()
      await put(store, cacheKey('/m'), 'get')
      assert.equal(await store.get(cacheKey('/m', { method: 'HEAD' })), undefined)
      assert.equal(await store.get(cacheKey('/m', { origin: 'http://other' })), undefined)
      assert.equal(await store.get(cacheKey('/m?q=1')), undefined)
      // undici joins origin and path with ':'; ours keeps them apart.
      await put(store, { origin: 'http://a:1', path: '/x', method: 'GET', headers: {} }, 'first')
      assert.equal(await store.get({ origin: 'http://a', path: ':1/x', method: 'GET', headers: {} }), undefined)
    })

    // undici: delete(key) removes every variant and method of origin + path.
    test('delete removes every variant and method', async () => {
      const store = make()
      await put(store, cacheKey('/d', { headers: { a: '1' } }), 'a1', cacheValue({ vary: { a: '1' } }))
      await put(store, cacheKey('/d', { headers: { a: '2' } }), 'a2', cacheValue({ vary: { a: '2' } }))
      await put(store, cacheKey('/d', { method: 'HEAD' }), '')
      await store.delete(cacheKey('/d'))
      assert.equal(await store.get(cacheKey('/d', { headers: { a: '1' } })), undefined)
      assert.equal(await store.get(cacheKey('/d', { headers: { a: '2' } })), undefined)
      assert.equal(await store.get(cacheKey('/d', { method: 'HEAD' })), undefined)
    })

    // undici main's tests: exactly maxEntrySize bytes is kept, one more is dropped.
    test('maxEntrySize counts body bytes: exactly kept, one more dropped', async () => {
      const store = make({ maxEntrySize: 100 })
      await put(store, cacheKey('/max'), Buffer.alloc(100, 1))
      assert.equal(bodyOf(await store.get(cacheKey('/max'))).length, 100)
      const ws = store.createWriteStream(cacheKey('/over'), cacheValue())
      writeBody(ws, [Buffer.alloc(60), Buffer.alloc(41)])
      await settled(ws)
      assert.ok(ws.destroyed)
      assert.equal(await store.get(cacheKey('/over')), undefined)
    })

    // issue 12: bodies are binary in Redis, never base64/JSON; maxEntrySize
    // counts the bytes, not an encoding of them.
    test('binary bodies round-trip and are stored as raw bytes', async () => {
      const store = make({ maxEntrySize: 256, keyPrefix: 'bin:' })
      const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      await put(store, cacheKey('/bin'), body)
      assert.deepEqual(bodyOf(await store.get(cacheKey('/bin'))), body)
      const reply = await redis.command('HSTRLEN', `bin:{${'http://localhost:3000'.length}:http://localhost:3000/bin}`, 'b:GET\n')
      assert.equal(reply.trim(), ':256')
    })

    // issue 12 pitfall: expiry from the caller's clock as a relative TTL
    // drops entries early under fake timers / skew; ours never expires in
    // Redis before either clock says.
    test('a caller clock far behind Redis does not expire the entry in Redis early', async (t) => {
      const store = make({ keyPrefix: 'skew:' })
      t.mock.method(Date, 'now', () => 1_000)
      await put(store, cacheKey('/skew'), 'x', cacheValue({ cachedAt: 1_000, staleAt: 2_000, deleteAt: 61_000 }))
      const pttl = Number((await redis.command('PTTL', `skew:{21:http://localhost:3000/skew}`)).slice(1))
      assert.ok(pttl > 55_000 && pttl <= 60_000, `pttl ${pttl}`)
      assert.equal(bodyOf(await store.get(cacheKey('/skew'))).toString(), 'x')
    })

    test('stats count hits, misses, writes', async () => {
      const store = make()
      await store.get(cacheKey('/s'))
      await put(store, cacheKey('/s'), 'x')
      await store.get(cacheKey('/s'))
      await store.get(cacheKey('/s'))
      const s = store.stats()
      assert.equal(s.writes, 1)
      assert.equal(s.misses, 1)
      assert.equal(s.l1Hits + s.l2Hits, 2)
      // (With an L1 the second read is an L1 hit unless the write's own
      // invalidation arrived while the first read was in flight.)
      if (l1 === false) assert.equal(s.l1Hits, 0)
      else assert.ok(s.l1Hits <= 1)
      assert.equal(s.errors, 0)
    })
  })
}

describe('RedisCacheStore L1', { skip }, () => {
  test('an L1 hit is synchronous; without L1 every get is a Promise', async () => {
    const a = open()
    await put(a, cacheKey('/sync'), 'x')
    assert.ok(a.get(cacheKey('/sync')) instanceof Promise, 'first read goes to Redis')
    // A read fills the L1 unless an invalidation of the key (here possibly the
    // write's own message) arrived while it was in flight: then a later one does.
    assert.ok(await eventually(async () => {
      const r = a.get(cacheKey('/sync'))
      if (r instanceof Promise) { await r; return false }
      return true
    }, 1000), 'a later read is served from the L1')
    const hit = a.get(cacheKey('/sync'))
    assert.ok(!(hit instanceof Promise), 'and stays so')
    assert.equal(bodyOf(hit).toString(), 'x')
    const b = open({ l1: false })
    await put(b, cacheKey('/sync'), 'x')
    await b.get(cacheKey('/sync'))
    assert.ok(b.get(cacheKey('/sync')) instanceof Promise)
  })

  // issue 12: once a write's finish or a delete resolved on A, B's L1 stops
  // serving the replaced/deleted entry (window measured, not asserted).
  test('a write or delete on one instance invalidates another instance\'s L1', async () => {
    const prefix = `coh${seq++}:`
    const a = open({ keyPrefix: prefix })
    const b = open({ keyPrefix: prefix, commandTimeout: 249 }) // another client: another instance
    const key = cacheKey('/coh')
    await put(a, key, 'v1')
    await b.get(key)
    assert.ok(await eventually(() => !(b.get(key) instanceof Promise)), 'B serves from its L1')
    await put(a, key, 'v2')
    const t0 = process.hrtime.bigint()
    assert.ok(await eventually(() => {
      const r = b.get(key)
      return r instanceof Promise || bodyOf(r).toString() === 'v2'
    }, 1000), 'B stops serving v1')
    const windowUs = Number(process.hrtime.bigint() - t0) / 1000
    console.log(`# coherence window after finish (same process, two clients): ${windowUs.toFixed(0)} µs`)
    assert.equal(bodyOf(await b.get(key)).toString(), 'v2')
    await b.get(key)
    await a.delete(key)
    assert.ok(await eventually(() => b.get(key) instanceof Promise, 1000))
    assert.equal(await b.get(key), undefined)
  })

  test('worker threads share one named store and its L1', async () => {
    const name = `shared${seq++}`
    const main = open({ name, keyPrefix: 'named:' })
    const code = `
      const { parentPort, workerData } = require('node:worker_threads')
      const { RedisCacheStore } = require(workerData.index)
      const s = new RedisCacheStore({ url: workerData.url, name: workerData.name, keyPrefix: 'named:' })
      const key = { origin: 'http://w', path: '/w', method: 'GET', headers: {} }
      const w = s.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: Date.now(), staleAt: Date.now() + 9e4, deleteAt: Date.now() + 9e4 })
      w.end('from worker')
      w.on('finish', async () => {
        // A read fills the shared L1 (a later one, if the write's own message raced the first).
        for (let i = 0; i < 100 && s.stats().l1Count === 0; i++) await s.get(key)
        parentPort.postMessage(s.stats().l1Count)
      })`
    const w = new Worker(code, { eval: true, workerData: { index: require.resolve('../index.js'), url: redis.url, name } })
    const [count] = await new Promise((resolve, reject) => { w.once('message', (m) => resolve([m])); w.once('error', reject) })
    await w.terminate()
    assert.equal(count, 1)
    const hit = main.get({ origin: 'http://w', path: '/w', method: 'GET', headers: {} })
    assert.ok(!(hit instanceof Promise), 'the worker filled the shared L1')
    assert.equal(bodyOf(hit).toString(), 'from worker')
    assert.throws(() => new RedisCacheStore({ url: redis.url, name, keyPrefix: 'other:' }), RangeError)
  })
})

describe('RedisCacheStore options and failures', { skip }, () => {
  test('bad options throw TypeError naming the field', () => {
    const cases = [
      [undefined, /options must be an object/],
      [{}, /options\.url/],
      [{ url: 'http://x' }, /options\.url/],
      [{ url: [] }, /options\.url/],
      [{ url: 'redis://h', keyPrefix: 1 }, /options\.keyPrefix/],
      [{ url: 'redis://h', l1: 'big' }, /options\.l1/],
      [{ url: 'redis://h', l1: { maxSize: -1 } }, /l1 options\.maxSize/],
      [{ url: 'redis://h', maxEntrySize: 1.5 }, /options\.maxEntrySize/],
      [{ url: 'redis://h', commandTimeout: 0 }, /options\.commandTimeout/],
      [{ url: 'redis://h', errorCallback: 1 }, /options\.errorCallback/],
      [{ url: 'redis://h', name: '' }, /options\.name/],
      [{ url: 'redis://h', cluster: 'yes' }, /options\.cluster/],
      [{ url: 'redis://[::1' }, /options\.url: invalid Redis URL/]
    ]
    for (const [opts, message] of cases) assert.throws(() => new RedisCacheStore(opts), { name: 'TypeError', message }, JSON.stringify(opts))
    const store = open()
    assert.throws(() => store.get(null), TypeError)
    assert.throws(() => store.get({ origin: 1, path: '/', method: 'GET' }), /key\.origin/)
    assert.throws(() => store.createWriteStream(cacheKey('/'), { ...cacheValue(), statusCode: 'x' }), /value\.statusCode/)
    assert.throws(() => store.delete({ origin: 'x' }), /key\.path/)
  })

  test('a password in the URL is not echoed in errors', () => {
    assert.throws(() => new RedisCacheStore({ url: 'redis://user:s3cret@[::1' }), (err) => !err.message.includes('s3cret'))
  })

  // issue 12: an unreachable server never hangs the constructor; get is a
  // miss within commandTimeout, then at once (breaker); writes are dropped
  // with errorCallback; nothing throws.
  test('an unreachable server: constructor returns at once, gets miss, writes report', async () => {
    const port = await freePort()
    const errors = []
    const t0 = Date.now()
    const store = open({ url: `redis://127.0.0.1:${port}`, commandTimeout: 100, errorCallback: (e) => errors.push(e) })
    assert.ok(Date.now() - t0 < 100)
    const t1 = Date.now()
    assert.equal(await store.get(cacheKey('/u')), undefined)
    assert.ok(Date.now() - t1 < 1000, 'bounded by the deadline')
    assert.equal(store.get(cacheKey('/u')), undefined, 'breaker open: a synchronous miss')
    await put(store, cacheKey('/u'), 'x')
    assert.ok(errors.length >= 1 && errors.every((e) => e instanceof Error))
    assert.ok(store.stats().errors >= 1)
  })

  test('after close: get misses, writes are refused, delete does nothing', async () => {
    const store = open()
    await put(store, cacheKey('/c'), 'x')
    // A read in flight when close() is called still settles (with the entry), never rejects.
    const inFlight = store.get(cacheKey('/c'))
    const closing = store.close()
    assert.equal(bodyOf(await inFlight).toString(), 'x')
    await closing
    await store.close()
    assert.equal(store.get(cacheKey('/c')), undefined)
    assert.equal(store.createWriteStream(cacheKey('/c'), cacheValue()), undefined)
    await store.delete(cacheKey('/c'))
    await store.close()
  })

  // issue 12: no event-loop keepalive after close; no crash at exit without close.
  test('a process exits by itself, with or without close()', () => {
    for (const close of [true, false]) {
      const script = `
        const { RedisCacheStore } = require(${JSON.stringify(require.resolve('../index.js'))})
        const s = new RedisCacheStore({ url: ${JSON.stringify(redis.url)}, keyPrefix: 'exit:' })
        const key = { origin: 'http://e', path: '/e', method: 'GET', headers: {} }
        const w = s.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: Date.now(), staleAt: Date.now() + 9e4, deleteAt: Date.now() + 9e4 })
        w.end('x')
        w.on('finish', async () => {
          await s.get(key); s.get(key)
          ${close ? 'await s.close()' : ''}
          console.log('done')
        })`
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 })
      assert.equal(r.signal, null, `close=${close}: exited by itself (stderr: ${r.stderr})`)
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stdout.trim(), 'done')
    }
  })
})

// The N-API glue the page cache (and any Redis-backed feature) builds on:
// shared clients, commands settled as Promises, pub/sub callbacks through an
// unref'd threadsafe function.
describe('Redis binding glue', { skip }, () => {
  const binding = require('../binding.js')

  test('commands resolve from the runtime; a bad URL throws naming it', async () => {
    const c = binding.redisClientOpen([redis.url], false, 500)
    assert.equal(await binding.redisClientCommand(c, ['SET', 'glue:k', 'v']), 'OK')
    assert.equal(await binding.redisClientCommand(c, ['GET', 'glue:k']), 'v')
    await assert.rejects(binding.redisClientCommand(c, ['INCR', 'glue:k']), /not an integer/)
    assert.equal(binding.redisClientState(c)[0], 1, 'an error reply does not open the breaker')
    assert.throws(() => binding.redisClientOpen(['redis://[::1'], false, 500), /invalid Redis URL/)
  })

  test('a subscription delivers messages and never keeps a process alive', async () => {
    const c = binding.redisClientOpen([redis.url], false, 500)
    const got = []
    const sub = binding.redisClientSubscribe(c, 'glue:chan', (m) => got.push(m === null ? null : m.toString()))
    assert.ok(await eventually(async () => {
      await redis.command('PUBLISH', 'glue:chan', 'hello')
      return got.includes('hello')
    }))
    assert.equal(got[0], null, 'a Resync (null) came with the subscription, before any message')
    binding.redisSubscriptionClose(sub)
    const script = `
      const b = require(${JSON.stringify(require.resolve('../binding.js'))})
      const c = b.redisClientOpen([${JSON.stringify(redis.url)}], false, 500)
      b.redisClientSubscribe(c, 'glue:exit', () => {})
      b.redisClientCommand(c, ['PING']).then((r) => console.log(r))`
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 })
    assert.equal(r.signal, null, 'exited by itself')
    assert.equal(r.stdout.trim(), 'PONG')
  })
})
