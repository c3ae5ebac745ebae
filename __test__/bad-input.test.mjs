// Malformed keys, values, chunks and options. Each case must either throw a
// TypeError/RangeError whose message names the offending field, or have a
// documented safe outcome. After every case the store still serves the entry
// stored before it, and its size and count are unchanged.

import { describe, test, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { MemoryCacheStore } = require('../index.js')

const key = (path = '/', extra = {}) => ({ origin: 'http://localhost', method: 'GET', path, headers: {}, ...extra })
const value = (extra = {}) => {
  const now = Date.now()
  return { statusCode: 200, statusMessage: 'OK', headers: {}, cacheControlDirectives: {}, cachedAt: now, staleAt: now + 10_000, deleteAt: now + 20_000, ...extra }
}
const KEEP = key('/keep', { headers: { 'accept-encoding': 'gzip' } })
const text = (r) => r === undefined ? undefined : Buffer.concat(r.body).toString()

let store
let snapshot

beforeEach(() => {
  store = new MemoryCacheStore({ maxSize: 1_000_000, maxCount: 100, maxEntrySize: 500_000 })
  store.createWriteStream(KEEP, value({ vary: { 'accept-encoding': 'gzip' } })).end('kept body')
  snapshot = { size: store.size, count: store.count }
  assert.equal(text(store.get(KEEP)), 'kept body')
})

afterEach(() => {
  // The store keeps serving its other entries, and its accounting is unchanged.
  assert.equal(text(store.get(KEEP)), 'kept body', 'the earlier entry still hits')
  assert.equal(store.size, snapshot.size, 'size unchanged')
  assert.equal(store.count, snapshot.count, 'count unchanged')
})

/** Asserts `fn` throws `cls` with a message naming `field`. */
function throwsNaming (fn, cls, field) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err?.constructor?.name}: ${err?.message}`)
    assert.ok(err.message.includes(field), `message ${JSON.stringify(err.message)} should name ${field}`)
    return true
  })
}

/** The same bad key through get, createWriteStream and delete. */
function badKey (k, field, { del = true } = {}) {
  throwsNaming(() => store.get(k), TypeError, field)
  throwsNaming(() => store.createWriteStream(k, value()), TypeError, field)
  if (del) throwsNaming(() => store.delete(k), TypeError, field)
}

describe('malformed keys', () => {
  test('null key', () => badKey(null, 'key'))
  test('undefined key', () => badKey(undefined, 'key'))
  test('string key', () => badKey('http://localhost/keep', 'key'))
  test('missing origin', () => badKey({ method: 'GET', path: '/keep', headers: {} }, 'key.origin'))
  test('origin as a URL object', () => badKey(key('/keep', { origin: new URL('http://localhost') }), 'key.origin'))
  test('non-string path (number)', () => badKey(key(42), 'key.path'))
  test('missing path', () => badKey({ origin: 'http://localhost', method: 'GET', headers: {} }, 'key.path'))
  // delete() ignores the method (it removes every method), so only get/createWriteStream check it.
  test('missing method', () => badKey({ origin: 'http://localhost', path: '/keep', headers: {} }, 'key.method', { del: false }))
  test('headers not an object', () => {
    throwsNaming(() => store.get(key('/keep', { headers: 'accept-encoding: gzip' })), TypeError, 'headers')
    throwsNaming(() => store.createWriteStream(key('/x', { headers: 5 }), value()), TypeError, 'headers')
  })

  // Documented safe outcome: a method that is not an HTTP token cannot smuggle a key
  // separator; writes refuse it with a TypeError naming key.method, reads miss or refuse.
  test('method with a newline or separator', () => {
    throwsNaming(() => store.createWriteStream(key('/keep', { method: 'GET\n5:http://localhost' }), value()), TypeError, 'key.method')
    let r
    try { r = store.get(key('/keep', { method: 'GET\n' })) } catch (err) {
      assert.ok(err instanceof TypeError && err.message.includes('key.method'))
    }
    assert.equal(r, undefined)
  })

  // Documented safe outcome: header values of impossible types never match a Vary'd value.
  test('request header values of the wrong type miss (no throw)', () => {
    for (const v of [5, true, { gzip: 1 }, [1], ['gzip', 2], Symbol('gzip')]) {
      assert.equal(store.get(key('/keep', { headers: { 'accept-encoding': v } })), undefined, String(typeof v))
    }
  })

  // Documented safe outcome: headers null is "no headers" (undici accepts typeof null === 'object').
  test('headers null is treated as no headers', () => {
    assert.equal(store.get(key('/keep', { headers: null })), undefined)
  })

  // Documented safe outcome: a header getter that throws propagates its error; nothing changes.
  test('a throwing header getter propagates and leaves the store intact', () => {
    const headers = { get 'accept-encoding' () { throw new RangeError('boom') } }
    assert.throws(() => store.get(key('/keep', { headers })), /boom/)
  })
})

describe('malformed values', () => {
  const write = (v, k = key('/bad')) => () => store.createWriteStream(k, v)

  test('value null', () => throwsNaming(write(null), TypeError, 'value'))
  test('value a string', () => throwsNaming(write('200 OK'), TypeError, 'value'))
  test('statusCode a string', () => throwsNaming(write(value({ statusCode: '200' })), TypeError, 'value.statusCode'))
  test('negative statusCode', () => throwsNaming(write(value({ statusCode: -200 })), RangeError, 'statusCode'))
  test('statusCode 1.5 and 1000', () => {
    throwsNaming(write(value({ statusCode: 1.5 })), RangeError, 'statusCode')
    throwsNaming(write(value({ statusCode: 1000 })), RangeError, 'statusCode')
    throwsNaming(write(value({ statusCode: NaN })), RangeError, 'statusCode')
  })
  test('cachedAt NaN', () => throwsNaming(write(value({ cachedAt: NaN })), TypeError, 'value.cachedAt'))
  test('staleAt a string', () => throwsNaming(write(value({ staleAt: String(Date.now()) })), TypeError, 'value.staleAt'))
  test('deleteAt missing', () => throwsNaming(write(value({ deleteAt: undefined })), TypeError, 'value.deleteAt'))
  test('deleteAt before cachedAt', () => {
    const now = Date.now()
    throwsNaming(write(value({ cachedAt: now + 5000, staleAt: now + 6000, deleteAt: now + 1000 })), RangeError, 'deleteAt')
  })
  test('statusMessage a number', () => throwsNaming(write(value({ statusMessage: 200 })), TypeError, 'value.statusMessage'))
  test('headers not an object', () => throwsNaming(write(value({ headers: 'content-type: text/plain' })), TypeError, 'eaders'))
  test('vary a string', () => throwsNaming(write(value({ vary: 'accept-encoding' })), TypeError, 'value.vary'))
  test('vary with a number value', () => throwsNaming(write(value({ vary: { 'x-n': 5 } })), TypeError, "vary['x-n']"))
  test('vary with an array holding a number', () => throwsNaming(write(value({ vary: { 'x-n': ['a', 5] } })), TypeError, "vary['x-n']"))
  test('vary with an object value', () => throwsNaming(write(value({ vary: { 'x-o': { a: 1 } } })), TypeError, "vary['x-o']"))
  test('etag a number', () => throwsNaming(write(value({ etag: 123 })), TypeError, 'value.etag'))

  test('circular headers', () => {
    const headers = { a: 'b' }
    headers.self = headers
    throwsNaming(write(value({ headers })), TypeError, 'headers')
  })
  test('circular cacheControlDirectives', () => {
    const d = { 'max-age': 5 }
    d.self = d
    throwsNaming(write(value({ cacheControlDirectives: d })), TypeError, 'cacheControlDirectives')
  })
  test('BigInt header value', () => throwsNaming(write(value({ headers: { 'content-length': 10n } })), TypeError, 'headers'))

  // Documented safe outcome: a 1 MB header value is stored and returned intact.
  test('1 MB header value round-trips', () => {
    const big = 'h'.repeat(1024 * 1024)
    store.createWriteStream(key('/bighdr'), value({ headers: { 'x-big': big } })).end('b')
    const r = store.get(key('/bighdr'))
    assert.equal(r.headers['x-big'], big)
    store.delete(key('/bighdr'))
  })

  // Documented safe outcome: an already-expired value is refused (no stream), nothing stored.
  test('deleteAt in the past: no stream', () => {
    const now = Date.now()
    assert.equal(store.createWriteStream(key('/old'), value({ cachedAt: now - 2000, staleAt: now - 1500, deleteAt: now - 1000 })), undefined)
  })

  // Documented safe outcome: ±Infinity times are kept as such.
  test('infinite times are stored as Infinity', () => {
    store.createWriteStream(key('/inf'), value({ cachedAt: -Infinity, staleAt: Infinity, deleteAt: Infinity })).end('i')
    const r = store.get(key('/inf'))
    assert.deepEqual([r.cachedAt, r.staleAt, r.deleteAt], [-Infinity, Infinity, Infinity])
    store.delete(key('/inf'))
  })
})

describe('malformed body chunks and stream misuse', () => {
  for (const [name, chunk] of [['a number', 42], ['a plain object', { a: 1 }], ['an array', [1, 2]], ['a boolean', true]]) {
    test(`body chunk ${name}`, async () => {
      const ws = store.createWriteStream(key('/chunk'), value())
      ws.on('error', () => {})
      assert.throws(() => ws.write(chunk), (err) => err instanceof TypeError && /chunk/.test(err.message))
      ws.destroy()
      assert.equal(store.get(key('/chunk')), undefined)
    })
  }

  test('body chunk null', () => {
    const ws = store.createWriteStream(key('/chunk'), value())
    ws.on('error', () => {})
    assert.throws(() => ws.write(null), { name: 'TypeError', code: 'ERR_STREAM_NULL_VALUES' })
    ws.destroy()
    assert.equal(store.get(key('/chunk')), undefined)
  })

  // Documented safe outcome: Uint8Array chunks are accepted like Buffers.
  test('Uint8Array chunk is accepted', () => {
    store.createWriteStream(key('/u8'), value()).end(new Uint8Array([104, 105]))
    assert.equal(text(store.get(key('/u8'))), 'hi')
    store.delete(key('/u8'))
  })

  test('write after end: ERR_STREAM_WRITE_AFTER_END, the entry as ended', async () => {
    const ws = store.createWriteStream(key('/wae'), value())
    ws.end('done')
    const err = await new Promise((resolve) => { ws.on('error', resolve); ws.write('more') })
    assert.equal(err.code, 'ERR_STREAM_WRITE_AFTER_END')
    assert.equal(text(store.get(key('/wae'))), 'done')
    store.delete(key('/wae'))
  })

  test('end twice and destroy after end are harmless', async () => {
    const ws = store.createWriteStream(key('/twice'), value())
    ws.on('error', () => {})
    ws.end('once')
    ws.end()
    ws.destroy()
    assert.equal(text(store.get(key('/twice'))), 'once')
    store.delete(key('/twice'))
  })

  test('a stream destroyed with an error stores nothing', async () => {
    const ws = store.createWriteStream(key('/err'), value())
    ws.on('error', () => {})
    ws.write('partial')
    ws.destroy(new Error('upstream failed'))
    assert.equal(store.get(key('/err')), undefined)
  })

  test('an oversized body destroys the stream and stores nothing', async () => {
    const ws = store.createWriteStream(key('/huge'), value())
    ws.on('error', () => {})
    ws.write(Buffer.alloc(300_000))
    ws.write(Buffer.alloc(300_000))
    assert.equal(ws.destroyed, true)
    assert.equal(store.get(key('/huge')), undefined)
  })

  test('a stream left open forever stores nothing and holds no accounted bytes', () => {
    const ws = store.createWriteStream(key('/open'), value())
    ws.write('never ended')
    assert.equal(store.get(key('/open')), undefined)
    ws.destroy()
  })
})

describe('malformed options', () => {
  const make = (opts) => () => new MemoryCacheStore(opts)
  test('options not an object', () => {
    for (const o of ['x', 42, true]) throwsNaming(make(o), TypeError, 'options must be an object')
  })
  test('negative maxSize', () => throwsNaming(make({ maxSize: -1 }), TypeError, 'options.maxSize'))
  test('maxCount 1.5', () => throwsNaming(make({ maxCount: 1.5 }), TypeError, 'options.maxCount'))
  test('maxEntrySize as a string', () => throwsNaming(make({ maxEntrySize: '5MB' }), TypeError, 'options.maxEntrySize'))
  test('Infinity limits', () => {
    throwsNaming(make({ maxSize: Infinity }), TypeError, 'options.maxSize')
    throwsNaming(make({ maxCount: Infinity }), TypeError, 'options.maxCount')
    throwsNaming(make({ maxEntrySize: Infinity }), TypeError, 'options.maxEntrySize')
  })
  test('NaN limit', () => throwsNaming(make({ maxCount: NaN }), TypeError, 'options.maxCount'))
  test('errorCallback not a function', () => {
    for (const cb of ['log', 1, {}, null]) throwsNaming(make({ errorCallback: cb }), TypeError, 'errorCallback')
  })
  // Documented safe outcome: huge (but integer) limits are accepted.
  test('limits beyond 2^53 are accepted', () => {
    const s = new MemoryCacheStore({ maxSize: Number.MAX_SAFE_INTEGER, maxCount: 2 ** 60, maxEntrySize: 1e21 })
    s.createWriteStream(key('/x'), value()).end('x')
    assert.equal(text(s.get(key('/x'))), 'x')
  })
})
