// The bad-input matrix: every public entry (store constructors and options,
// get / createWriteStream / write / delete keys, values and chunks; CachePolicy
// requests, responses, options, revalidation and fromObject; the vsf driver's
// options, invoke, invalidate and invalidateAll) is fed each of the 42 hostile
// values of helpers/hostile-values.mjs.
//
// The expected outcome of each case is, in order:
//   1. the documented outcome where ferrocache deliberately differs from its
//      peer (the `pinned` rules below, each saying what it pins and why), else
//   2. exactly the peer's outcome, computed in the same test from the real
//      peer: undici's MemoryCacheStore / SqliteCacheStore (Node >= 22 for the
//      latter, which needs node:sqlite) and http-cache-semantics 4.3; the vsf
//      driver's peer needs Redis, so its rules are the documented ones
//      (docs/vsf.md "Bad input").
// On top of that, whatever throws must be a TypeError/RangeError whose message
// names the field, or the very error a hostile getter/trap threw (user code
// that throws is never swallowed or re-wrapped), never anything else.
// After each group the store still serves the entry written before it, with
// its body, and its count and size are unchanged (nothing leaked in).
// (Stream misuse cases that are not one value per field are at the end.)

import { describe, test, before, beforeEach, afterEach, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HOSTILE, HOSTILE_MESSAGE, isTrap, assertNoPollution } from './helpers/hostile-values.mjs'

const require = createRequire(import.meta.url)
const { MemoryCacheStore, SqliteCacheStore, CachePolicy } = require('../index.js')
const { createVsfDriver } = require('../lib/vsf.js')
const undici = require('undici')
const HttpCachePolicy = require('http-cache-semantics')

const nodeMajor = Number(process.versions.node.split('.')[0])
const tmp = mkdtempSync(join(tmpdir(), 'ferrocache-hostile-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

// ---------------------------------------------------------------------------
// Outcomes

/**
 * An error message with V8's rendering of a receiver made uniform: "called on
 * incompatible receiver #<Object>" and "... [object Object]" name the same
 * object (Node 24's V8 renders it one way or the other depending on how the
 * getter was reached), so the peer comparison keeps class and wording only.
 */
function message (err) {
  return String(err?.message ?? err).replace(/incompatible receiver (?:#<(\w+)>|\[object (\w+)\])/g, (_, a, b) => `incompatible receiver <${a ?? b}>`)
}

/** What calling `fn` did: `{ ok: result }` or `{ throws, message }`. */
function outcome (fn) {
  try {
    return { ok: fn() }
  } catch (err) {
    return { throws: err?.constructor?.name ?? typeof err, message: message(err) }
  }
}

/** `outcome` of a call that may return a Promise (SqliteCacheStore reads large bodies off the loop). */
async function outcomeAsync (fn) {
  try {
    return { ok: await fn() }
  } catch (err) {
    return { throws: err?.constructor?.name ?? typeof err, message: message(err) }
  }
}

/**
 * Asserts `ours` is `expected`: `{ ok }` compared deeply, or `{ throws,
 * message }` with `message` a string (equal) or a RegExp.
 */
function assertOutcome (ours, expected, what) {
  if ('ok' in expected) {
    assert.deepEqual(ours, expected, what)
    return
  }
  assert.equal(ours.throws, expected.throws, `${what}: expected ${expected.throws} (${expected.message}), got ${JSON.stringify(ours)}`)
  if (expected.message instanceof RegExp) assert.match(ours.message, expected.message, what)
  else if (expected.message !== undefined) assert.equal(ours.message, expected.message, what)
}

/** Whatever throws is a TypeError/RangeError naming the field, or the hostile value's own error. */
function assertThrowsWell (ours, names, what) {
  if (!('throws' in ours)) return
  if (ours.message === HOSTILE_MESSAGE) return
  assert.ok(['TypeError', 'RangeError'].includes(ours.throws), `${what}: threw ${ours.throws}: ${ours.message}`)
  assert.match(ours.message, names, `${what}: the message should name the field`)
}

const typeErr = (message) => ({ throws: 'TypeError', message })
const rangeErr = (message) => ({ throws: 'RangeError', message })
const hostile = { throws: 'Error', message: HOSTILE_MESSAGE }
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// ---------------------------------------------------------------------------
// Stores

const now0 = Date.now()
const value = (extra = {}) => ({
  statusCode: 200, statusMessage: 'OK', headers: { 'content-type': 'text/plain' }, cacheControlDirectives: { 'max-age': 60 },
  cachedAt: now0, staleAt: now0 + 60_000, deleteAt: now0 + 120_000, ...extra
})
const key = (extra = {}) => ({ origin: 'http://localhost', method: 'GET', path: '/target', headers: {}, ...extra })
const KEEP = { origin: 'http://localhost', method: 'GET', path: '/keep', headers: { 'accept-encoding': 'gzip' } }

/** A get result as comparable data (JSON turns what JSON turns; ours stores JSON). */
function served (r) {
  if (r === undefined) return undefined
  return {
    statusCode: r.statusCode,
    statusMessage: r.statusMessage,
    headers: JSON.stringify(r.headers ?? null), // absent: undefined (undici, sqlite) or null (memory)
    vary: JSON.stringify(r.vary),
    etag: r.etag,
    // undici's SqliteCacheStore returns one Buffer (ours and undici's memory
    // store: an array of Buffers, which undici's interceptor needs on a 304).
    body: (Buffer.isBuffer(r.body) ? r.body : Buffer.concat(r.body ?? [])).toString()
  }
}

/** Writes `body` under (k, v), reads it back with k, removes it again. */
function writeRead (store, k, v, body = 'body', chunk = undefined) {
  const ws = store.createWriteStream(k, v)
  if (ws === undefined) return 'no stream'
  ws.on('error', () => {})
  try {
    if (chunk !== undefined) ws.write(chunk.value)
    ws.end(body)
  } finally {
    if (!ws.writableEnded) ws.destroy()
  }
  const r = store.get(k)
  const done = (r) => {
    store.delete(k)
    return served(r)
  }
  return r instanceof Promise ? r.then(done) : done(r)
}

const STORES = [
  {
    name: 'MemoryCacheStore',
    make: (opts) => new MemoryCacheStore(opts),
    // undici's MemoryCacheStore: the same key/value/options checks and messages.
    peer: () => new undici.cacheStores.MemoryCacheStore(),
    peerClass: undici.cacheStores.MemoryCacheStore,
    options: ['maxSize', 'maxCount', 'maxEntrySize'],
    falsyOptionsAreNone: false
  },
  {
    name: 'SqliteCacheStore',
    make: (opts) => new SqliteCacheStore(opts ?? { location: ':memory:' }),
    // Keys and values: undici's MemoryCacheStore is the reference (the same
    // checks, lib/util/cache.js, and it keeps what it is given). undici's own
    // SqliteCacheStore (node:sqlite, Node >= 22) loses data there, which ours
    // does not copy: a lone surrogate comes back as U+FFFD, an empty etag as
    // undefined, times past 2^53 throw a RangeError from node:sqlite, Symbol
    // directives fail the write, and the body comes back as one Buffer.
    // Options: compared with undici's SqliteCacheStore where Node has it.
    peer: () => new undici.cacheStores.MemoryCacheStore(),
    peerClass: nodeMajor >= 22 ? undici.cacheStores.SqliteCacheStore : null,
    options: ['maxSize', 'maxCount', 'maxEntrySize'],
    // undici's SqliteCacheStore: `if (opts)`, so 0, '' and NaN are no options.
    falsyOptionsAreNone: true
  }
]

/** Where a vary object fails our check (a value that is not string / string[] / null). */
function badVaryName (v) {
  for (const name of Object.keys(v)) {
    const x = v[name]
    if (x === null || typeof x === 'string' || (Array.isArray(x) && x.every((e) => typeof e === 'string'))) continue
    return name
  }
  return undefined
}
const isPlain = (v) => [Object.prototype, null].includes(Object.getPrototypeOf(v))
const kindOf = (v) => Array.isArray(v) ? 'array' : Object.getPrototypeOf(v).constructor.name
/** Whether JSON.stringify throws on `v` (BigInt, cycles, throwing getters). */
function jsonThrows (v) {
  try { JSON.stringify(v); return false } catch { return true }
}

/**
 * The store entries: `run(store, v)` feeds `v` to one field; `names` is what
 * an error about it must mention; `pinned(v, label, store)` is our documented
 * outcome where it differs from undici's (undefined: same as undici).
 */
const STORE_ENTRIES = [
  {
    entry: 'get(key)',
    names: /key/,
    run: (s, v) => served(s.get(v)),
    // undici reads key.origin of null and fails with "Cannot read properties of null".
    pinned: (v) => v === null ? typeErr('expected key to be object, got null') : undefined
  },
  ...['origin', 'path'].map((f) => ({
    entry: `get(key.${f})`,
    names: new RegExp(`key\\.${f}`),
    run: (s, v) => served(s.get(key({ [f]: v })))
  })),
  {
    entry: 'get(key.method)',
    names: /key\.method/,
    run: (s, v) => served(s.get(key({ method: v }))),
    // SqliteCacheStore: a method holding '\n' (its key separator) is refused.
    pinned: (v, _, store) => store.name === 'SqliteCacheStore' && typeof v === 'string' && v.includes('\n')
      ? typeErr('expected key.method to be an HTTP method token')
      : undefined
  },
  {
    entry: 'get(key.headers)',
    names: /headers/,
    run: (s, v) => served(s.get({ ...KEEP, headers: v })),
    // undici's message says "got object" for every type (it prints typeof key);
    // ours prints the type it got. Absent headers: no headers (a miss here);
    // undici's SqliteCacheStore reads undefined['accept-encoding'] and throws.
    pinned: (v) => v !== undefined && typeof v !== 'object'
      ? typeErr(`expected headers to be object, got ${typeof v}`)
      : v == null ? { ok: undefined } : undefined
  },
  {
    entry: 'createWriteStream(key)',
    names: /key/,
    run: (s, v) => writeRead(s, v, value()),
    pinned: (v) => v === null ? typeErr('expected key to be object, got null') : undefined
  },
  ...['origin', 'path'].map((f) => ({
    entry: `createWriteStream(key.${f})`,
    names: new RegExp(`key\\.${f}`),
    run: (s, v) => writeRead(s, key({ [f]: v }), value())
  })),
  {
    entry: 'createWriteStream(key.method)',
    names: /key\.method/,
    run: (s, v) => writeRead(s, key({ method: v }), value()),
    // Ours refuses a method that is not an RFC 9110 token (undici stores it):
    // a method cannot smuggle a separator into a key.
    pinned: (v) => typeof v === 'string' && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(v)
      ? typeErr('expected key.method to be an HTTP method token')
      : undefined
  },
  {
    entry: 'createWriteStream(key.headers)',
    names: /headers/,
    run: (s, v) => writeRead(s, key({ headers: v }), value()),
    pinned: (v, label) => {
      if (v !== undefined && typeof v !== 'object') return typeErr(`expected headers to be object, got ${typeof v}`)
      // Ours copies the request headers when the write begins (a getter run
      // later, under the store's lock, could re-enter the store): a throwing
      // getter or trap throws from createWriteStream. undici never reads them.
      if (label === 'object with a throwing getter' || isTrap(label)) return hostile
      return undefined
    }
  },
  {
    entry: 'createWriteStream(value)',
    names: /value/,
    run: (s, v) => writeRead(s, key(), v),
    pinned: (v) => v === null ? typeErr('expected value to be object, got null') : undefined
  },
  {
    entry: 'createWriteStream(value.statusCode)',
    names: /value\.statusCode/,
    run: (s, v) => writeRead(s, key(), value({ statusCode: v })),
    // Ours also checks the range (undici stores any number).
    pinned: (v) => typeof v === 'number' && !(Number.isInteger(v) && v >= 100 && v <= 999)
      ? rangeErr(`expected value.statusCode to be an integer from 100 to 999, got ${v}`)
      : undefined
  },
  {
    entry: 'createWriteStream(value.statusMessage)',
    names: /value\.statusMessage/,
    run: (s, v) => writeRead(s, key(), value({ statusMessage: v }))
  },
  {
    entry: 'createWriteStream(value.headers)',
    names: /value\.(rawH|h)eaders|serialisable/,
    run: (s, v) => writeRead(s, key(), value({ headers: v })),
    pinned: (v, label) => {
      if (v === null || typeof v !== 'object') return undefined
      if (isTrap(label)) return hostile
      // Ours stores JSON: only plain objects (a Date would come back a string,
      // a Map as {}), and what JSON cannot carry is refused when the write
      // begins. undici keeps the object as given.
      if (!isPlain(v)) return typeErr(new RegExp(`^expected value\\.headers to be a plain object, got ${kindOf(v)}$`))
      if (jsonThrows(v)) return typeErr(/expected value to be serialisable/)
      return undefined
    }
  },
  {
    entry: 'createWriteStream(value.vary)',
    names: /value\.vary/,
    run: (s, v) => writeRead(s, key(), value({ vary: v })),
    pinned: (v, label) => {
      if (v === null || typeof v !== 'object') return undefined
      if (isTrap(label)) return hostile
      if (!isPlain(v)) return typeErr(new RegExp(`^expected value\\.vary to be a plain object, got ${kindOf(v)}$`))
      if (label === 'object with a throwing getter') return hostile
      // Ours checks every value is a header value (undici keeps anything).
      const bad = badVaryName(v)
      if (bad !== undefined) return typeErr(new RegExp(`^expected value\\.vary\\['${escape(bad)}'\\] to be a header value`))
      return undefined
    }
  },
  {
    entry: 'createWriteStream(value.etag)',
    names: /value\.etag/,
    run: (s, v) => writeRead(s, key(), value({ etag: v }))
  },
  ...['cachedAt', 'staleAt', 'deleteAt'].map((f) => ({
    entry: `createWriteStream(value.${f})`,
    names: new RegExp(`value\\.(${f}|deleteAt)`),
    run: (s, v) => writeRead(s, key(), value({ [f]: v })),
    // Ours refuses NaN times and deleteAt before cachedAt (undici stores them,
    // then never serves or never evicts them).
    pinned: (v) => {
      if (typeof v !== 'number') return undefined
      if (Number.isNaN(v)) return typeErr(`expected value.${f} to be a number, got NaN`)
      const times = { cachedAt: now0, deleteAt: now0 + 120_000, [f]: v }
      if (times.deleteAt < times.cachedAt) return rangeErr('expected value.deleteAt to be at or after value.cachedAt')
      return undefined
    }
  })),
  {
    entry: 'createWriteStream(value.cacheControlDirectives)',
    names: /serialisable/,
    run: (s, v) => writeRead(s, key(), value({ cacheControlDirectives: v })),
    pinned: (v) => jsonThrows(v) ? typeErr(/expected value to be serialisable/) : undefined
  },
  {
    entry: 'write(chunk)',
    names: /chunk|null values/,
    // node:stream's own checks (ERR_INVALID_ARG_TYPE, ERR_STREAM_NULL_VALUES), as in undici.
    run: (s, v) => writeRead(s, key(), value(), 'end', { value: v })
  },
  {
    entry: 'delete(key)',
    names: /key/,
    run: (s, v) => s.delete(v),
    // Ours checks origin and path (undici deletes "undefined:undefined"), and
    // names null (undici: "Cannot read properties of null").
    pinned: (v, label) => {
      if (v === null) return typeErr('expected key to be object, got null')
      if (typeof v !== 'object' || isTrap(label)) return undefined
      return typeErr(`expected key.origin to be string, got ${typeof v.origin}`)
    }
  },
  ...['origin', 'path'].map((f) => ({
    entry: `delete(key.${f})`,
    names: new RegExp(`key\\.${f}`),
    run: (s, v) => s.delete({ ...KEEP, path: '/other', [f]: v }),
    pinned: (v) => typeof v !== 'string' ? typeErr(`expected key.${f} to be string, got ${typeof v}`) : undefined
  }))
]

for (const S of STORES) {
  describe(`${S.name}: hostile input`, () => {
    let store, peer, snapshot
    const usage = () => [store.count, S.name === 'MemoryCacheStore' ? store.size : store.stats().size]
    beforeEach(() => {
      store = S.make()
      peer = S.peer()
      for (const s of [store, peer]) s.createWriteStream(KEEP, value({ vary: { 'accept-encoding': 'gzip' } })).end('kept body')
      snapshot = usage()
      assert.equal(served(store.get(KEEP)).body, 'kept body')
    })
    afterEach(() => {
      // The store keeps serving the entry written before the group, and
      // nothing the group wrote stayed behind.
      assert.equal(served(store.get(KEEP))?.body, 'kept body', 'the earlier entry still hits')
      assert.deepEqual(usage(), snapshot, 'count and size unchanged')
      assertNoPollution(assert)
      store.close?.()
      peer.close?.()
    })

    for (const E of STORE_ENTRIES) {
      test(`${E.entry}: ${HOSTILE.length} hostile values`, async () => {
        for (const [label, make] of HOSTILE) {
          const what = `${S.name} ${E.entry} <- ${label}`
          const ours = await outcomeAsync(() => E.run(store, make()))
          const expected = E.pinned?.(make(), label, S) ?? await outcomeAsync(() => E.run(peer, make()))
          assertOutcome(ours, expected, what)
          assertThrowsWell(ours, E.names, what)
        }
      })
    }

    test(`constructor(options): ${HOSTILE.length} hostile values`, () => {
      for (const [label, make] of HOSTILE) {
        const v = make()
        const what = `new ${S.name}(${label})`
        const ours = outcome(() => S.make(v) && 'constructed')
        let expected
        if (v === undefined || v === null || (S.falsyOptionsAreNone && !v)) expected = { ok: 'constructed' }
        else if (typeof v !== 'object') expected = typeErr(`${S.name} options must be an object`)
        else if (isTrap(label)) expected = hostile
        else expected = { ok: 'constructed' } // other keys are ignored, as undici does
        assertOutcome(ours, expected, what)
        // The peer agrees (undici's store on this Node), except that undici's
        // MemoryCacheStore takes 0, '', NaN and false as no options (`if (opts)`)
        // where ours names the mistake.
        if (S.peerClass && !(S.name === 'MemoryCacheStore' && v != null && !v)) {
          assertOutcome(ours, outcome(() => new S.peerClass(make()) && 'constructed'), `${what} vs undici`)
        }
      }
    })

    for (const f of S.options) {
      test(`constructor(options.${f}): ${HOSTILE.length} hostile values`, () => {
        for (const [label, make] of HOSTILE) {
          const v = make()
          const what = `new ${S.name}({ ${f}: ${label} })`
          // A store made with an accepted limit works: it stores and serves.
          const ours = outcome(() => writeRead(S.make({ [f]: v, ...(S.name === 'SqliteCacheStore' ? { location: ':memory:' } : {}) }), key(), value(), 'x')?.body)
          // (a body of one byte is read synchronously by both stores)
          let expected
          if (v === undefined) expected = { ok: 'x' }
          else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) expected = typeErr(`${S.name} options.${f} must be a non-negative integer`)
          else if (S.name === 'SqliteCacheStore' && f === 'maxEntrySize' && v > 2e9) expected = typeErr('SqliteCacheStore options.maxEntrySize must be less than 2gb')
          else expected = { ok: v === 0 ? undefined : 'x' } // a zero limit stores nothing
          assertOutcome(ours, expected, what)
          // (maxSize is ours alone on SqliteCacheStore: undici's has no such option)
          if (S.peerClass && !('ok' in expected) && !(S.name === 'SqliteCacheStore' && f === 'maxSize')) {
            assertOutcome(ours, outcome(() => new S.peerClass({ [f]: make() }) && 'constructed'), `${what} vs undici`)
          }
        }
      })
    }

    if (S.name === 'MemoryCacheStore') {
      test(`constructor(options.name / errorCallback): ${HOSTILE.length} hostile values`, () => {
        for (const [label, make] of HOSTILE) {
          const v = make()
          const named = outcome(() => new MemoryCacheStore({ name: v }) && 'constructed')
          if (v === undefined || (typeof v === 'string' && v.length > 0)) assertOutcome(named, { ok: 'constructed' }, label)
          else assertOutcome(named, typeErr('MemoryCacheStore options.name must be a non-empty string'), label)
          const cb = outcome(() => new MemoryCacheStore({ errorCallback: v }) && 'constructed')
          if (v === undefined || typeof v === 'function') assertOutcome(cb, { ok: 'constructed' }, label)
          else assertOutcome(cb, typeErr('MemoryCacheStore options.errorCallback must be a function'), label)
        }
      })
    } else {
      test(`constructor(options.location): ${HOSTILE.length} hostile values`, () => {
        for (const [label, make] of HOSTILE) {
          const v = make()
          // Strings name a file in a scratch directory.
          const location = typeof v === 'string' && v !== '' ? join(tmp, v) : v
          const ours = outcome(() => { new SqliteCacheStore({ location }).close(); return 'opened' })
          let expected
          if (v === undefined) expected = { ok: 'opened' }
          else if (typeof v !== 'string' || v === '') expected = typeErr('SqliteCacheStore options.location must be a non-empty string')
          else if (v.includes('\0') || !v.isWellFormed()) expected = typeErr('SqliteCacheStore options.location must not contain NUL characters or lone surrogates')
          else if (v.length > 4096) expected = { throws: 'Error', message: /^SqliteCacheStore: unable to open database file/ } // the file system's answer
          else expected = { ok: 'opened' }
          assertOutcome(ours, expected, `location <- ${label}`)
        }
        // Nothing was created outside the scratch directory, and nothing under
        // a name that differs from the one given.
        for (const f of readdirSync(tmp)) assert.ok(f.isWellFormed() && !f.includes('\uFFFD'), `file ${JSON.stringify(f)}`)
      })
    }
  })
}

// ---------------------------------------------------------------------------
// CachePolicy (peer: http-cache-semantics 4.3, the API it reproduces)

const req = (extra = {}) => ({ url: '/', method: 'GET', headers: { host: 'example.com' }, ...extra })
const res = (extra = {}) => ({ status: 200, headers: { 'cache-control': 'max-age=60', date: new Date(now0).toUTCString() }, ...extra })
/** Whether `+v` can make a number of `v` (false: Symbol, BigInt, an object without valueOf/toString). */
const coercible = (v) => !(typeof v === 'symbol' || typeof v === 'bigint' ||
  (typeof v === 'object' && v !== null && !['valueOf', 'toString', Symbol.toPrimitive].some((m) => typeof v[m] === 'function')))
/**
 * Ours turns these numbers into numbers when the policy is built (http-cache-
 * semantics only where a rule needs them): what cannot be a number is a
 * TypeError naming it, and a throwing valueOf/toString/trap throws then.
 */
function eagerNumber (v, label, name) {
  if (isTrap(label)) return hostile
  if (!coercible(v)) return typeErr(`CachePolicy ${name} must be a number, got ${typeof v}`)
  try { +v } catch { return hostile } // eslint-disable-line no-unused-expressions
  return undefined
}
/** A policy's observable facts, as comparable data. */
// (responseHeaders' date and age are the clock's: left out, as the two sides
// run a moment apart)
const facts = (p) => {
  const { date, age, ...headers } = p.responseHeaders()
  return { storable: p.storable(), ttl: p.timeToLive() > 0, stale: p.stale(), headers: JSON.stringify(headers), dated: typeof date, aged: typeof age }
}

const POLICY_ENTRIES = [
  { entry: 'new CachePolicy(req)', names: /[Rr]equest|req/, run: (P, v) => facts(new P(v, res())) },
  { entry: 'new CachePolicy(req.headers)', names: /[Hh]eaders/, run: (P, v) => facts(new P(req({ headers: v }), res())) },
  { entry: 'new CachePolicy(req.method)', names: /method/, run: (P, v) => facts(new P(req({ method: v }), res())) },
  { entry: 'new CachePolicy(req.url)', names: /url/, run: (P, v) => facts(new P(req({ url: v }), res())) },
  { entry: 'new CachePolicy(res)', names: /[Rr]esponse|res/, run: (P, v) => facts(new P(req(), v)) },
  { entry: 'new CachePolicy(res.status)', names: /status/, run: (P, v) => facts(new P(req(), res({ status: v }))) },
  {
    entry: 'new CachePolicy(res.headers)',
    names: /[Hh]eaders/,
    run: (P, v) => facts(new P(req(), res({ headers: v }))),
    // http-cache-semantics looks header names up in a plain object literal,
    // so it drops a header named "constructor" (or "toString") from
    // responseHeaders(); ours keeps it.
    pinned: (v, label) => label === 'constructor.prototype key' ? { peerPlus: { constructor: v.constructor } } : undefined
  },
  {
    entry: "new CachePolicy(res.headers['cache-control'])",
    names: /cache-control|NUL/,
    run: (P, v) => facts(new P(req(), res({ headers: { 'cache-control': v, date: new Date(now0).toUTCString() } }))),
    // http-cache-semantics calls header.trim() and fails with "header.trim is
    // not a function" (or parses a boxed String); ours names the header. NUL
    // separates fields on the way to Rust: refused (RFC 9110 §5.5 forbids it).
    pinned: (v) => {
      if (!v) return undefined // falsy: absent, in both
      if (typeof v !== 'string') return typeErr('Response cache-control header must be a string')
      if (v.includes('\0')) return typeErr(/NUL/)
      return undefined
    }
  },
  {
    entry: 'new CachePolicy(res.headers.date / expires / age / last-modified)',
    names: /date|expires|age|last-modified|header/i,
    run: (P, v) => facts(new P(req(), res({ headers: { 'cache-control': 'public', date: v, expires: v, age: v, 'last-modified': v } }))),
    // http-cache-semantics throws "Cannot convert a Symbol value to a string";
    // ours reads a header that is not a string (or string[]) as absent.
    // A value holding NUL is refused (RFC 9110 §5.5; docs/cache-policy.md).
    pinned: (v) => typeof v === 'symbol' ? { peerWith: undefined } : typeof v === 'string' && v.includes('\0') ? typeErr(/NUL/) : undefined
  },
  { entry: 'new CachePolicy(options)', names: /option/, run: (P, v) => facts(new P(req(), res(), v)) },
  ...['shared', 'cacheHeuristic', 'immutableMinTimeToLive', 'ignoreCargoCult', 'trustServerDate'].map((f) => ({
    entry: `new CachePolicy(options.${f})`,
    names: new RegExp(f + '|BigInt'),
    run: (P, v) => facts(new P(req({ headers: { host: 'example.com', authorization: 'x' } }),
      res({ headers: { 'last-modified': new Date(now0 - 86_400_000).toUTCString(), date: new Date(now0).toUTCString(), 'cache-control': 'immutable' } }), { [f]: v })),
    // Ours takes the numbers when the policy is built: a Symbol or BigInt (that
    // cannot be a number) is a TypeError naming the option, even where
    // http-cache-semantics would never have used it.
    pinned: (v, label) => {
      if (!['cacheHeuristic', 'immutableMinTimeToLive'].includes(f)) return undefined
      return eagerNumber(v, label, `options.${f}`)
    }
  })),
  {
    entry: 'satisfiesWithoutRevalidation(req)',
    names: /[Rr]equest|headers/,
    run: (P, v) => new P(req(), res()).satisfiesWithoutRevalidation(v)
  },
  {
    entry: 'satisfiesWithoutRevalidation(req.headers)',
    names: /[Hh]eaders/,
    run: (P, v) => new P(req(), res()).satisfiesWithoutRevalidation(req({ headers: v })),
    // http-cache-semantics reads every header of the request (and so runs the
    // throwing getter); ours reads only those it needs: the missing host
    // header already decides (no match).
    pinned: (v, label) => label === 'object with a throwing getter' ? { ok: false } : undefined
  },
  {
    entry: 'evaluateRequest(req)',
    names: /[Rr]equest|headers/,
    run: (P, v) => { const r = new P(req(), res()).evaluateRequest(v); return { revalidation: r.revalidation !== undefined, response: r.response !== undefined } }
  },
  {
    entry: 'revalidatedPolicy(req)',
    names: /[Rr]equest|headers/,
    run: (P, v) => { const r = new P(req(), res()).revalidatedPolicy(v, res({ status: 304 })); return { modified: r.modified, matches: r.matches, facts: facts(r.policy) } }
  },
  {
    entry: 'revalidatedPolicy(res)',
    names: /[Rr]esponse|headers/,
    run: (P, v) => { const r = new P(req(), res()).revalidatedPolicy(req(), v); return { modified: r.modified, matches: r.matches, facts: facts(r.policy) } }
  },
  { entry: 'CachePolicy.fromObject(obj)', names: /serializ|object/i, run: (P, v) => facts(P.fromObject(v)) },
  ...['v', 't', 'sh', 'ch', 'imm', 'st', 'resh', 'rescc', 'm', 'u', 'h', 'a', 'reqh', 'reqcc'].map((f) => ({
    entry: `CachePolicy.fromObject(obj.${f})`,
    names: /serializ|object|BigInt/i,
    run: (P, v) => { const o = new P(req(), res()).toObject(); o[f] = v; return facts(P.fromObject(o)) },
    pinned: (v, label) => {
      // Ours checks the shape of what it reads into Rust; http-cache-semantics
      // reads garbage as is (or fails with "Cannot read properties of ...").
      if (['resh', 'rescc', 'reqcc'].includes(f) && (v === null || typeof v !== 'object')) {
        return typeErr('Invalid serialization: resh, rescc and reqcc must be objects')
      }
      if (['ch', 'imm'].includes(f)) return eagerNumber(v, label, `serialization ${f}`)
      if (f === 't' && !isTrap(label) && !coercible(v)) {
        return typeErr(`CachePolicy serialization ${f} must be a number, got ${typeof v}`)
      }
      if (f === 'resh' && label === 'constructor.prototype key') return { peerPlus: { constructor: v.constructor } }
      return undefined
    }
  }))
]

// Where an object is expected, a 1 MB string is a million-key object to both
// sides (seconds of work to compare, nothing new): the shorter strings cover it.
const OBJECT_FIELD = /\((req|res|options|obj|req\.headers|res\.headers)\)$/

describe('CachePolicy: hostile input (peer: http-cache-semantics 4.3)', () => {
  for (const E of POLICY_ENTRIES) {
    test(`${E.entry}: ${HOSTILE.length} hostile values`, () => {
      for (const [label, make] of HOSTILE) {
        if (label === '1 MB string' && OBJECT_FIELD.test(E.entry)) continue
        const what = `${E.entry} <- ${label}`
        const ours = outcome(() => E.run(CachePolicy, make()))
        const peer = outcome(() => E.run(HttpCachePolicy, make()))
        const pinned = E.pinned?.(make(), label)
        let expected = pinned ?? peer
        if (pinned && 'peerWith' in pinned) expected = outcome(() => E.run(HttpCachePolicy, pinned.peerWith))
        if (pinned && 'peerPlus' in pinned) {
          // The peer's answer, with the headers it drops kept in responseHeaders().
          expected = { ok: { ...peer.ok, headers: JSON.stringify({ ...pinned.peerPlus, ...JSON.parse(peer.ok.headers)}) } }
          const got = JSON.parse(ours.ok.headers)
          ours.ok.headers = JSON.stringify({ ...pinned.peerPlus, ...got })
        }
        assertOutcome(ours, expected, what)
        if (pinned !== undefined) assertThrowsWell(ours, E.names, what)
      }
      assertNoPollution(assert)
      // Policies still work after the group.
      assert.equal(new CachePolicy(req(), res()).maxAge(), 60)
    })
  }
})

// ---------------------------------------------------------------------------
// vsf driver (documented outcomes: docs/vsf.md "Bad input")

const PAGE = { html: '<p>kept</p>', preloadFiles: ['a.js'] }
const V = 'ferrocache/vsf'

/** Settles a promise-returning call into an outcome. */
async function settled (fn) {
  try {
    return { ok: await fn() }
  } catch (err) {
    return { throws: err?.constructor?.name, message: message(err) }
  }
}
const typeName = (v) => v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v

describe('vsf driver: hostile input', () => {
  let d, errors, renders
  const keep = () => ({ route: '/keep', render: () => { renders++; return PAGE }, getTags: () => ['KEEP'] })
  beforeEach(async () => {
    errors = []
    renders = 0
    d = createVsfDriver({ onError: (e) => errors.push(e) })
    await d.invoke(keep())
  })
  afterEach(async () => {
    // The page stored before the group is still a hit (no render), the only page.
    assert.deepEqual(await d.invoke(keep()), PAGE)
    assert.equal(renders, 1, 'the kept page was served from the cache')
    assert.equal(d.stats().count, 1, 'nothing else stayed in the cache')
    assertNoPollution(assert)
  })

  test(`factory(options): ${HOSTILE.length} hostile values`, () => {
    for (const [label, make] of HOSTILE) {
      const v = make()
      const ours = outcome(() => createVsfDriver(v) && 'created')
      let expected
      if (v === undefined || v === null) expected = { ok: 'created' }
      else if (typeof v !== 'object' || Array.isArray(v)) expected = typeErr(`${V} options must be an object, got ${typeName(v)}`)
      else if (isTrap(label)) expected = hostile
      else expected = { ok: 'created' }
      assertOutcome(ours, expected, `options <- ${label}`)
    }
  })

  for (const f of ['maxSize', 'maxCount', 'memoSize']) {
    test(`factory(options.${f}): ${HOSTILE.length} hostile values`, () => {
      for (const [label, make] of HOSTILE) {
        const v = make()
        const ours = outcome(() => createVsfDriver({ [f]: v })[f === 'memoSize' ? 'invoke' : f] !== undefined && 'created')
        let expected
        if (v === undefined || v === null) expected = { ok: 'created' }
        else if (typeof v !== 'number') expected = typeErr(`${V} options.${f} must be a number, got ${typeName(v)}`)
        else if (Number.isNaN(v) || v < 0 || (Number.isFinite(v) && !Number.isInteger(v))) expected = rangeErr(`${V} options.${f} must be a non-negative integer or Infinity, got ${v}`)
        else expected = { ok: 'created' }
        assertOutcome(ours, expected, `${f} <- ${label}`)
      }
    })
  }

  for (const f of ['ttl', 'defaultTimeout']) {
    test(`factory(options.${f}): ${HOSTILE.length} hostile values`, () => {
      for (const [label, make] of HOSTILE) {
        const v = make()
        const ours = outcome(() => createVsfDriver({ [f]: v }) && 'created')
        let expected
        if (v === undefined || v === null) expected = { ok: 'created' }
        else if (typeof v !== 'number') expected = typeErr(`${V} options.${f} must be a number of seconds, got ${typeName(v)}`)
        else if (Number.isNaN(v) || v <= 0) expected = rangeErr(`${V} options.${f} must be a positive number of seconds (or Infinity), got ${v}`)
        else expected = { ok: 'created' }
        assertOutcome(ours, expected, `${f} <- ${label}`)
      }
    })
  }

  test(`factory(options.keyPrefix / invalidatedHeader / onError / name): ${HOSTILE.length} hostile values`, () => {
    for (const [label, make] of HOSTILE) {
      const v = make()
      const prefix = outcome(() => createVsfDriver({ keyPrefix: v }) && 'created')
      if (v === undefined || v === null || typeof v === 'string') assertOutcome(prefix, { ok: 'created' }, `keyPrefix <- ${label}`)
      else assertOutcome(prefix, typeErr(`${V} options.keyPrefix must be a string, got ${typeName(v)}`), `keyPrefix <- ${label}`)

      const header = outcome(() => createVsfDriver({ invalidatedHeader: v }) && 'created')
      if (v === undefined || v === null) assertOutcome(header, { ok: 'created' }, `invalidatedHeader <- ${label}`)
      else if (typeof v !== 'string') assertOutcome(header, typeErr(`${V} options.invalidatedHeader must be a string, got ${typeName(v)}`), `invalidatedHeader <- ${label}`)
      else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(v)) assertOutcome(header, rangeErr(/options\.invalidatedHeader must be a valid HTTP header name/), `invalidatedHeader <- ${label}`)
      else assertOutcome(header, { ok: 'created' }, `invalidatedHeader <- ${label}`)

      const onError = outcome(() => createVsfDriver({ onError: v }) && 'created')
      if (v === undefined || v === null || typeof v === 'function') assertOutcome(onError, { ok: 'created' }, `onError <- ${label}`)
      else assertOutcome(onError, typeErr(`${V} options.onError must be a function, got ${typeName(v)}`), `onError <- ${label}`)

      const name = outcome(() => createVsfDriver({ name: v }) && 'created')
      if (v === undefined || (typeof v === 'string' && v.length > 0)) assertOutcome(name, { ok: 'created' }, `name <- ${label}`)
      else assertOutcome(name, typeErr(`${V} options.name must be a non-empty string, got ${typeName(v)}`), `name <- ${label}`)
    }
  })

  test(`invoke(args): ${HOSTILE.length} hostile values, always a rejection, never a throw`, async () => {
    for (const [label, make] of HOSTILE) {
      const v = make()
      let returned
      const sync = outcome(() => { returned = d.invoke(v) })
      assert.deepEqual(sync, { ok: undefined }, `invoke(${label}) threw synchronously`)
      const ours = await settled(() => returned)
      let expected
      if (v === null || typeof v !== 'object') expected = typeErr(`${V}: invoke() expects an object, got ${typeName(v)}`)
      else if (isTrap(label)) expected = hostile
      else expected = typeErr(`${V}: invoke() needs a string key or route, got route undefined`)
      assertOutcome(ours, expected, `invoke(${label})`)
    }
  })

  for (const f of ['key', 'route']) {
    test(`invoke({ ${f} }): ${HOSTILE.length} hostile values; strings are distinct keys`, async () => {
      for (const [label, make] of HOSTILE) {
        const v = make()
        let n = 0
        const page = { html: `<p>${label}</p>` }
        const args = () => ({ [f]: v, render: () => { n++; return page }, getTags: () => ['T'] })
        const ours = await settled(() => d.invoke(args()))
        if (v === undefined || v === null) {
          if (f === 'route') assertOutcome(ours, typeErr(`${V}: invoke() needs a string key or route, got route ${typeName(v)}`), label)
          else assertOutcome(ours, typeErr(`${V}: invoke() needs a string key or route, got route undefined`), label)
        } else if (typeof v !== 'string') {
          assertOutcome(ours, f === 'key'
            ? typeErr(`${V}: invoke() key must be a string, got ${typeName(v)}`)
            : typeErr(`${V}: invoke() needs a string key or route, got route ${typeName(v)}`), label)
        } else {
          // Any string is a key of its own: stored, then a hit, never the kept page.
          assert.deepEqual(ours, { ok: page }, label)
          assert.deepEqual(await d.invoke(args()), page, `${label}: hit`)
          assert.equal(n, 1, `${label}: rendered once`)
          await d.invalidate({ tags: ['T'] })
        }
      }
    })
  }

  test(`invoke: render resolving to ${HOSTILE.length} hostile values, plus deep and circular content`, async () => {
    let deep = {}
    const root = deep
    for (let i = 0; i < 100_000; i++) deep = deep.a = {}
    const circular = { html: 'x' }
    circular.self = circular
    const cases = [...HOSTILE, ['100 000 levels deep', () => root], ['circular', () => circular],
      ['toJSON that throws', () => ({ toJSON () { throw new Error(HOSTILE_MESSAGE) } })]]
    for (const [label, make] of cases) {
      const v = make()
      errors.length = 0
      const route = `/content/${label}`
      const ours = await settled(() => d.invoke({ route, render: () => v, getTags: () => ['C'] }))
      if (isTrap(label)) {
        // Resolving a Promise with it reads its `then`: the trap's error
        // rejects invoke() (as any throwing render), nothing is cached.
        assertOutcome(ours, hostile, label)
        assert.equal(d.stats().count, 1)
        continue
      }
      // The content is served as rendered (a Promise: what it resolved to).
      const content = v instanceof Promise ? await v : v
      assert.ok('ok' in ours && (ours.ok === content || Number.isNaN(ours.ok)), `${label}: served as rendered`)
      let json
      try { json = JSON.stringify(content) } catch {}
      if (json === undefined) {
        // Not cached; a TypeError naming the key goes to onError.
        assert.equal(errors.length, 1, `${label}: reported`)
        assert.ok(errors[0] instanceof TypeError)
        assert.ok(errors[0].message.includes(`'page:${route}'`), errors[0].message)
        assert.equal(d.stats().count, 1, `${label}: not cached`)
      } else {
        // Cached as JSON: a hit gives back what JSON makes of it.
        assert.equal(errors.length, 0, `${label}: ${errors[0]?.message}`)
        const hit = await d.invoke({ route, render: () => assert.fail('hit expected'), getTags: () => ['C'] })
        assert.deepEqual(hit, JSON.parse(json), `${label}: hit`)
        await d.invalidate({ tags: ['C'] })
      }
    }
  })

  test(`invoke: getTags returning ${HOSTILE.length} hostile values`, async () => {
    for (const [label, make] of HOSTILE) {
      const v = make()
      errors.length = 0
      const ours = await settled(() => d.invoke({ route: '/tags', render: () => ({ html: 't' }), getTags: () => v }))
      assert.deepEqual(ours, { ok: { html: 't' } }, `${label}: the page is served`)
      if (!Array.isArray(v)) {
        assert.match(errors[0]?.message ?? '', new RegExp(`getTags\\(\\) must be an array of strings, got ${typeName(v)}`), label)
      } else if (v.length === 0) {
        assert.equal(errors.length, 0) // untagged: not cached, nothing to report
      } else {
        assert.equal(errors.length, 0)
        assert.equal(d.stats().count, 2, `${label}: cached`)
        assert.equal(await d.invalidate({ tags: v }), 1)
      }
      assert.equal(d.stats().count, 1)
    }
  })

  test(`invalidate(args) and invalidate({ tags }): ${HOSTILE.length} hostile values`, async () => {
    for (const [label, make] of HOSTILE) {
      const v = make()
      const whole = await settled(() => d.invalidate(v))
      if (v !== undefined && (v === null || typeof v !== 'object')) {
        assertOutcome(whole, typeErr(`${V}: invalidate() expects an object, got ${typeName(v)}`), `invalidate(${label})`)
      } else if (isTrap(label)) {
        assertOutcome(whole, hostile, label)
      } else {
        assertOutcome(whole, typeErr(`${V}: invalidate() tags must be an array of strings, got ${typeName(v?.tags)}`), `invalidate(${label})`)
      }
      const tags = await settled(() => d.invalidate({ tags: v }))
      if (!Array.isArray(v)) assertOutcome(tags, typeErr(`${V}: invalidate() tags must be an array of strings, got ${typeName(v)}`), `tags <- ${label}`)
      else assertOutcome(tags, { ok: 0 }, `tags <- ${label}`) // no page carries them
    }
  })

  test(`invalidateAll(args): ${HOSTILE.length} hostile values`, async () => {
    const other = createVsfDriver({})
    for (const [label, make] of HOSTILE) {
      const v = make()
      const ours = await settled(() => other.invalidateAll(v))
      if (v !== undefined && (v === null || typeof v !== 'object')) assertOutcome(ours, typeErr(`${V}: invalidateAll() expects an object, got ${typeName(v)}`), label)
      else if (isTrap(label)) assertOutcome(ours, hostile, label)
      else assertOutcome(ours, { ok: 0 }, label)
    }
  })
})

// ---------------------------------------------------------------------------
// Cases that are not one value per field (folded in from the former
// __test__/bad-input.test.mjs): header values, stream misuse, re-entrancy.

for (const S of STORES) {
  describe(`${S.name}: header values, stream misuse, re-entrant callers`, () => {
    let store, snapshot
    const usage = () => [store.count, S.name === 'MemoryCacheStore' ? store.size : store.stats().size]
    const text = (r) => r === undefined ? undefined : Buffer.concat(r.body).toString()
    beforeEach(() => {
      store = S.make()
      store.createWriteStream(KEEP, value({ vary: { 'accept-encoding': 'gzip' } })).end('kept body')
      snapshot = usage()
    })
    afterEach(() => {
      assert.equal(text(store.get(KEEP)), 'kept body', 'the earlier entry still hits')
      assert.deepEqual(usage(), snapshot, 'count and size unchanged')
      store.close?.()
    })

    // Documented safe outcome: request header values of impossible types never match a Vary'd value.
    test('request header values of the wrong type miss (no throw)', () => {
      for (const v of [5, true, { gzip: 1 }, [1], ['gzip', 2], Symbol('gzip'), 10n, null]) {
        assert.equal(store.get({ ...KEEP, headers: { 'accept-encoding': v } }), undefined, String(typeof v))
      }
    })

    test('a throwing getter of a Vary\'d request header propagates its error', () => {
      const headers = { get 'accept-encoding' () { throw new RangeError('boom') } }
      assert.throws(() => store.get({ ...KEEP, headers }), { name: 'RangeError', message: 'boom' })
    })

    // A request-headers getter or Proxy trap that calls back into the same
    // store while a write commits: Rust reads the headers under the store's
    // lock, so it must be handed a copy (else: a deadlock, the process hangs).
    test('a Proxy of request headers that re-enters the store during the write', () => {
      let reentered = 0
      const headers = new Proxy({ 'accept-encoding': 'br' }, {
        get (target, name) {
          reentered++
          store.get(KEEP)
          store.delete({ origin: 'http://localhost', path: '/unrelated' })
          return target[name]
        }
      })
      const k = { ...KEEP, headers }
      store.createWriteStream(k, value({ vary: { 'accept-encoding': 'br' } })).end('br body')
      assert.ok(reentered > 0)
      assert.equal(text(store.get({ ...KEEP, headers: { 'accept-encoding': 'br' } })), 'br body')
      store.delete({ origin: KEEP.origin, path: KEEP.path })
      store.createWriteStream(KEEP, value({ vary: { 'accept-encoding': 'gzip' } })).end('kept body')
    })

    // Each key field is read once: a getter cannot pass the check with a
    // string and hand the native call something else (the memory store used
    // to throw an Error with an empty message from the binding).
    test('key getters that change their answer between reads', () => {
      const shifty = (first) => {
        let reads = 0
        return { get origin () { return reads++ === 0 ? first : 42 }, path: '/shifty', method: 'GET', headers: {} }
      }
      assert.equal(store.get(shifty('http://localhost')), undefined)
      store.createWriteStream(shifty('http://localhost'), value()).end('shifty')
      assert.equal(text(store.get({ origin: 'http://localhost', path: '/shifty', method: 'GET', headers: {} })), 'shifty')
      store.delete(shifty('http://localhost'))
      assert.equal(store.get({ origin: 'http://localhost', path: '/shifty', method: 'GET', headers: {} }), undefined)
    })

    // Documented safe outcome: a 1 MB header value is stored and returned intact.
    test('1 MB header value round-trips', () => {
      const big = 'h'.repeat(1024 * 1024)
      store.createWriteStream(key(), value({ headers: { 'x-big': big } })).end('b')
      assert.equal(store.get(key()).headers['x-big'], big)
      store.delete(key())
    })

    // Documented safe outcome: an already-expired value is refused (no stream), nothing stored.
    test('deleteAt in the past: no stream', () => {
      const now = Date.now()
      assert.equal(store.createWriteStream(key(), value({ cachedAt: now - 2000, staleAt: now - 1500, deleteAt: now - 1000 })), undefined)
    })

    // Documented safe outcome: ±Infinity times are kept as such.
    test('infinite times are stored as Infinity', () => {
      store.createWriteStream(key(), value({ cachedAt: -Infinity, staleAt: Infinity, deleteAt: Infinity })).end('i')
      const r = store.get(key())
      assert.deepEqual([r.cachedAt, r.staleAt, r.deleteAt], [-Infinity, Infinity, Infinity])
      store.delete(key())
    })

    test('Uint8Array chunk is accepted', () => {
      store.createWriteStream(key(), value()).end(new Uint8Array([104, 105]))
      assert.equal(text(store.get(key())), 'hi')
      store.delete(key())
    })

    test('write after end: ERR_STREAM_WRITE_AFTER_END, the entry as ended', async () => {
      const ws = store.createWriteStream(key(), value())
      ws.end('done')
      const err = await new Promise((resolve) => { ws.on('error', resolve); ws.write('more') })
      assert.equal(err.code, 'ERR_STREAM_WRITE_AFTER_END')
      assert.equal(text(store.get(key())), 'done')
      store.delete(key())
    })

    test('end twice and destroy after end are harmless', () => {
      const ws = store.createWriteStream(key(), value())
      ws.on('error', () => {})
      ws.end('once')
      ws.end()
      ws.destroy()
      assert.equal(text(store.get(key())), 'once')
      store.delete(key())
    })

    test('a stream destroyed with an error stores nothing', () => {
      const ws = store.createWriteStream(key(), value())
      ws.on('error', () => {})
      ws.write('partial')
      ws.destroy(new Error('upstream failed'))
      assert.equal(store.get(key()), undefined)
    })

    test('an oversized body destroys the stream and stores nothing', () => {
      const small = S.make({ maxEntrySize: 500_000, ...(S.name === 'SqliteCacheStore' ? { location: ':memory:' } : {}) })
      const ws = small.createWriteStream(key(), value())
      ws.on('error', () => {})
      ws.write(Buffer.alloc(300_000))
      ws.write(Buffer.alloc(300_000))
      assert.equal(ws.destroyed, true)
      assert.equal(small.get(key()), undefined)
      small.close?.()
    })

    test('a stream left open forever stores nothing and holds no accounted bytes', () => {
      const ws = store.createWriteStream(key(), value())
      ws.write('never ended')
      assert.equal(store.get(key()), undefined)
      assert.deepEqual(usage(), snapshot)
      ws.destroy()
    })
  })
}
