// The JS↔Rust wire format, round-tripped: every slot, flag, op code and result
// offset comes from Rust (`wireLayout()`, src/napi/wire.rs); these tests write
// through one side's names and read through the other's, so a slot that moves
// on one side only fails here (it used to fail silently: a wrong number).
// Where the numbers have a meaning a peer defines (http-cache-semantics 4.3 for
// the policy), the peer computes the expected values.
process.env.TZ = 'UTC'

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const binding = require('../binding.js')
const layout = require('../lib/wire.js')
const Peer = require('http-cache-semantics')

const P = layout.policy
const io = binding.policyIo()
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0)

function distinctSlots (slots, max) {
  const values = Object.entries(slots).filter(([k]) => k !== 'length').map(([, v]) => v)
  assert.equal(new Set(values).size, values.length, JSON.stringify(slots))
  for (const v of values) assert.ok(Number.isInteger(v) && v >= 0 && v < max, JSON.stringify(slots))
}

function distinctBits (flags) {
  let seen = 0
  for (const [name, bit] of Object.entries(flags)) {
    assert.ok(bit > 0 && (bit & (bit - 1)) === 0, `${name} is one bit`)
    assert.equal(seen & bit, 0, `${name} shares a bit`)
    seen |= bit
  }
}

test('policy: slots fit the io array, flags are distinct bits', () => {
  assert.equal(io.length, P.ioSlots)
  for (const slots of [P.exchange, P.facts, P.time, P.summary, P.dates, P.serverDate]) distinctSlots(slots, P.ioSlots)
  for (const flags of [P.inputFlags, P.factFlags, P.summaryBits]) distinctBits(flags)
  assert.equal(new Set(Object.values(P.timeOps)).size, Object.keys(P.timeOps).length)
  assert.equal(new Set(Object.values(P.methods)).size, Object.keys(P.methods).length)
  assert.equal(new Set(Object.values(P.reuse)).size, Object.keys(P.reuse).length)
})

// Responses whose facts http-cache-semantics computes; each written into the
// exchange slots by name, read back from the facts slots by name.
const exchanges = [
  { method: 'GET', status: 200, headers: { date: new Date(T0).toUTCString(), 'cache-control': 'public, max-age=300, stale-while-revalidate=60, stale-if-error=30', age: '10' } },
  { method: 'HEAD', status: 200, headers: { date: new Date(T0 - 3600e3).toUTCString(), expires: new Date(T0).toUTCString() } },
  { method: 'GET', status: 200, headers: { date: new Date(T0).toUTCString(), 'last-modified': new Date(T0 - 100e3 * 1000).toUTCString() } },
  { method: 'POST', status: 200, headers: { date: new Date(T0).toUTCString(), 'cache-control': 's-maxage=99, max-age=5, must-revalidate' } },
  { method: 'GET', status: 404, headers: { 'cache-control': 'no-store' } },
  { method: 'GET', status: 200, headers: { 'cache-control': 'private, max-age=60' } },
  { method: 'GET', status: 200, headers: { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' } }
]

function writeExchange (e, responseTime) {
  const h = e.headers
  binding.policySummary(h['cache-control'] ?? '')
  const summary = [io[P.summary.bits], io[P.summary.maxAge], io[P.summary.sMaxage], io[P.summary.staleWhileRevalidate], io[P.summary.staleIfError]]
  binding.policyDates([h.expires ?? '', h.date ?? '', h['last-modified'] ?? ''].join('\0'))
  const dates = [io[P.dates.expires], io[P.dates.date], io[P.dates.lastModified]]
  const X = P.exchange
  let flags = P.inputFlags.shared | P.inputFlags.noAuthorization
  if (h.expires) flags |= P.inputFlags.expiresPresent
  if (h['set-cookie']) flags |= P.inputFlags.setCookie
  io.fill(NaN)
  io[X.status] = e.status
  io[X.method] = P.methods[e.method.toLowerCase()]
  io[X.flags] = flags
  io[X.cacheHeuristic] = 0.1
  io[X.immutableMinTtl] = 24 * 3600 * 1000
  io[X.responseTime] = responseTime
  io[X.ccBits] = summary[0]
  io[X.maxAge] = summary[1]
  io[X.sMaxage] = summary[2]
  io[X.staleWhileRevalidate] = summary[3]
  io[X.staleIfError] = summary[4]
  io[X.expires] = dates[0]
  io[X.date] = dates[1]
  io[X.lastModified] = dates[2]
  io[X.age] = h.age ? Number(h.age) : 0
  binding.policyFacts()
  const F = P.facts
  return {
    flags: io[F.flags],
    maxAge: io[F.maxAge],
    ageValue: io[F.ageValue],
    date: io[F.date],
    staleWhileRevalidate: io[F.staleWhileRevalidate],
    staleIfError: io[F.staleIfError]
  }
}

test('policy: exchange slots in, facts slots out (http-cache-semantics computes the expected facts)', () => {
  for (const e of exchanges) {
    const req = { method: e.method, url: '/', headers: { host: 'h' } }
    class AtT0 extends Peer { now () { return T0 } }
    const peer = new AtT0(req, { status: e.status, headers: e.headers })
    const f = writeExchange(e, T0)
    const what = JSON.stringify(e)
    assert.equal((f.flags & P.factFlags.storable) !== 0, peer.storable(), 'storable: ' + what)
    assert.equal(f.maxAge, peer.maxAge(), 'maxAge: ' + what)
    assert.equal(f.date, peer.date(), 'date: ' + what)
    assert.equal(f.ageValue, e.headers.age ? Number(e.headers.age) : 0, 'age: ' + what)
    assert.equal((f.flags & P.factFlags.mustRevalidate) !== 0, /must-revalidate/.test(e.headers['cache-control'] ?? ''), 'must-revalidate: ' + what)
    assert.equal(f.flags & P.factFlags.dateUnknown, 0, 'Rust never sets the shell-only flag')

    // The same facts through the time slots, one op at a time.
    const clock = { t: T0 }
    class Later extends Peer { now () { return clock.t } }
    const later = new Later(req, { status: e.status, headers: e.headers })
    for (const dt of [0, 30e3, 301e3, 400e3]) {
      const now = clock.t = T0 + dt
      const T = P.time
      const time = (op) => {
        io[T.op] = op
        io[T.flags] = f.flags
        io[T.maxAge] = f.maxAge
        io[T.ageValue] = f.ageValue
        io[T.responseTime] = T0
        io[T.staleWhileRevalidate] = f.staleWhileRevalidate
        io[T.staleIfError] = f.staleIfError
        io[T.now] = now
        return binding.policyTime()
      }
      const at = `${what} at +${dt} ms`
      assert.equal(time(P.timeOps.age), later.age(), 'age ' + at)
      assert.equal(time(P.timeOps.timeToLive), later.timeToLive(), 'timeToLive ' + at)
      assert.equal(time(P.timeOps.stale) === 1, later.stale(), 'stale ' + at)
      assert.equal(time(P.timeOps.useStaleWhileRevalidate) === 1, later.useStaleWhileRevalidate(), 'useStaleWhileRevalidate ' + at)
      io[T.op] = 0
      const reuse = binding.policyEvaluatePlain()
      const expected = later.evaluateRequest(req)
      const peerReuse = expected.response === undefined
        ? P.reuse.miss
        : expected.revalidation === undefined ? P.reuse.fresh : P.reuse.staleWhileRevalidate
      if (later.storable()) assert.equal(reuse, peerReuse, 'evaluate ' + at)
    }
  }
})

test('policy: the server-date slots', () => {
  io[P.serverDate.date] = NaN
  io[P.serverDate.responseTime] = T0
  assert.equal(binding.policyServerDate(), T0, 'no Date: the response time')
  io[P.serverDate.date] = T0 - 5000
  assert.equal(binding.policyServerDate(), T0 - 5000)
})

test('memory store: metadata, commit and stats layouts', () => {
  const { memoryMeta: META, memoryCommit: COMMIT, memoryStats: STATS } = layout
  distinctSlots(STATS, 64)
  const [slot, owner] = binding.memoryStoreOpen(1e6, 1, 1e6, undefined)
  const shell = ['statusCode', 'statusMessage', 'headers', 'vary', 'etag', 'cacheControlDirectives']
  const value = { statusCode: 203, statusMessage: 'Non-Authoritative', headers: { a: '1' }, vary: { b: '2' }, etag: '"e"', cacheControlDirectives: { 'max-age': 5 } }
  const meta = new Array(shell.length)
  for (const name of shell) meta[META[name] - META.times] = value[name]
  const commit = (path, body) => {
    const w = binding.memoryStoreAppend(slot, -1, Buffer.from(body))
    return binding.memoryStoreCommit(slot, w, 'GET', 'o', path, {}, '', JSON.stringify(meta), T0 - 1, T0 + 1000, T0 + 2000, T0, 0, true)
  }
  const first = commit('/a', 'abc')
  assert.equal(typeof first, 'number')
  const back = JSON.parse(binding.memoryStoreMeta(slot, first))
  assert.deepEqual([back[META.cachedAt], back[META.staleAt], back[META.deleteAt]], [T0 - 1, T0 + 1000, T0 + 2000])
  for (const name of shell) assert.deepEqual(back[META[name]], value[name], name)

  // maxCount 1: the second write exceeds it and evicts the first.
  const out = commit('/b', 'defg')
  assert.ok(Array.isArray(out))
  assert.equal(out[COMMIT.exceeded], 1)
  assert.equal(out[COMMIT.size], 7)
  assert.equal(out[COMMIT.count], 2)
  assert.ok(out[COMMIT.stored] > first)
  assert.deepEqual(out.slice(COMMIT.removed), [first])

  assert.equal(binding.memoryStoreLookup(slot, 'GET', 'o', '/b', 0, T0), out[COMMIT.stored])
  assert.equal(binding.memoryStoreLookup(slot, 'GET', 'o', '/none', 0, T0), -1)
  const s = binding.memoryStoreStats(slot, 0)
  assert.deepEqual(
    [s[STATS.hits], s[STATS.misses], s[STATS.writes], s[STATS.evictions], s[STATS.expired], s[STATS.size], s[STATS.count]],
    [1, 1, 2, 1, 0, 4, 1])
  void owner
})

test('sqlite store: stats layout', () => {
  const { sqliteStats: STATS } = layout
  distinctSlots(STATS, 64)
  const [slot, owner] = binding.sqliteStoreOpen(':memory:', Infinity, Infinity, 1e6)
  const w = binding.sqliteStoreAppend(slot, -1, Buffer.from('hello'))
  binding.sqliteStoreCommit(slot, w, 'GET\nk', {}, '', '{}', T0 + 1000, T0)
  const s = binding.sqliteStoreStats(slot)
  assert.deepEqual([s[STATS.count], s[STATS.size], s[STATS.writes], s[STATS.evictions], s[STATS.expired]], [1, 5, 1, 0, 0])
  binding.sqliteStoreClose(slot)
  void owner
})

test('page cache: stats layout', () => {
  const { pageStats: STATS } = layout
  distinctSlots(STATS, 64)
  const h = binding.pageCacheOpen(1e6, 1, undefined)
  binding.pageCacheInsert(h, 'k1', '{}', ['t1', 't2'], Infinity, T0, -1)
  binding.pageCacheInsert(h, 'k2', '[1]', ['t3'], T0 + 10, T0, -1)
  assert.ok(binding.pageCacheGet(h, 'k2', T0) >= 0)
  assert.equal(binding.pageCacheGet(h, 'k1', T0), -1)
  const s = binding.pageCacheStats(h)
  assert.deepEqual(
    [s[STATS.hits], s[STATS.misses], s[STATS.inserts], s[STATS.evictions], s[STATS.expired], s[STATS.invalidated], s[STATS.size], s[STATS.count], s[STATS.tags]],
    [1, 1, 2, 1, 0, 0, 'k2'.length + '[1]'.length + 't3'.length, 1, 1])
})

test('store metadata: the SQLite shell writes what the memory store hands back, and both read it alike', () => {
  const { metaJson, shellMetaJson, entryFromMeta } = require('../lib/store-entry.js')
  const { memoryMeta: META } = layout
  const value = { statusCode: 200, statusMessage: 'OK', headers: { 'x-a': ['1', '2'] }, vary: { 'accept-encoding': 'br' }, etag: undefined, cacheControlDirectives: { 'max-age': 60 }, cachedAt: T0, staleAt: T0 + 60e3, deleteAt: Infinity }
  // The memory store: the shell's part in, Rust puts the times (numbers) in front.
  const [slot, owner] = binding.memoryStoreOpen(1e6, 10, 1e6, undefined)
  const w = binding.memoryStoreAppend(slot, -1, Buffer.from('x'))
  const id = binding.memoryStoreCommit(slot, w, 'GET', 'o', '/', {}, '', shellMetaJson(value), value.cachedAt, value.staleAt, value.deleteAt, T0, 0, false)
  const fromMemory = JSON.parse(binding.memoryStoreMeta(slot, id))
  const fromSqlite = JSON.parse(metaJson(value))
  assert.deepEqual(fromMemory, fromSqlite)
  assert.equal(fromSqlite[META.deleteAt], Infinity)
  const m = entryFromMeta(7, fromSqlite, null)
  for (const k of ['statusCode', 'statusMessage', 'headers', 'vary', 'etag', 'cacheControlDirectives', 'cachedAt', 'staleAt', 'deleteAt']) {
    assert.deepEqual(m[k], value[k], k)
  }
  assert.equal(m.id, 7)
  const { selects } = require('../lib/vary.js')
  assert.equal(selects(m.select, { 'accept-encoding': 'br' }), true)
  assert.equal(selects(m.select, { 'accept-encoding': 'gzip' }), false)
  void owner
})

// The cache interceptor's calls (lib/interceptor-rules.js) share the same io
// array. Every value below is distinct, so a slot read or written at another
// index than the layout's (on either side) gives a different result (the
// interceptor's own suites pin the rules against undici; here the expected
// results are the RFC 9111 §4.2 / §5.2 and RFC 5861 outcomes of each case).
// interceptorArrive reads only the bits of the response's stale-* directives,
// not their values: those two slots are checked for distinctness only.
const I = layout.interceptor
const rules = require('../lib/interceptor-rules.js')

test('interceptor: slots fit the io array, flags and bits are distinct, use codes are clear of the stale-if-error bit', () => {
  for (const slots of [I.directives, I.arrive, I.arrival, I.presentation]) distinctSlots(slots, P.ioSlots)
  assert.ok(I.directives.length <= P.ioSlots)
  for (const flags of [I.flags, I.directiveBits]) distinctBits(flags)
  const { staleIfError, ...codes } = I.uses
  assert.equal(new Set(Object.values(codes)).size, Object.keys(codes).length)
  for (const code of Object.values(codes)) assert.equal(code & staleIfError, 0)
  assert.equal(rules.C.USE_STALE_IF_ERROR, staleIfError)
  assert.equal(rules.C.ONLY_IF_CACHED, I.directiveBits.onlyIfCached)
})

test('interceptor: interceptorDirectives writes the directive slots the shell reads', () => {
  const value = 'max-age=1, s-maxage=2, stale-while-revalidate=3, stale-if-error=4, min-fresh=5, max-stale=6, no-store'
  io.fill(NaN)
  assert.equal(binding.interceptorDirectives(value), null)
  const D = I.directives
  const B = I.directiveBits
  const bits = B.maxAge | B.sMaxage | B.staleWhileRevalidate | B.staleIfError | B.minFresh | B.maxStale | B.noStore
  assert.deepEqual(
    [io[D.bits], io[D.maxAge], io[D.sMaxage], io[D.staleWhileRevalidate], io[D.staleIfError], io[D.minFresh], io[D.maxStale]],
    [bits, 1, 2, 3, 4, 5, 6])
  const d = rules.directives(value + ' ') // a new memo key: parsed now
  assert.deepEqual(
    [d.bits, d.maxAge, d.sMaxAge, d.swr, d.sie, d.minFresh, d.maxStale],
    [bits, 1, 2, 3, 4, 5, 6])
})

function dirs (over) {
  return { ...rules.NO_DIRECTIVES, ...over }
}

test('interceptor: interceptorArrive reads the arrive slots and writes the arrival slots the shell reads', () => {
  const A = I.arrive
  const R = I.arrival
  const B = I.directiveBits
  const cases = [
    // [shell arguments, expected { storable, lifetime, initialAge }]
    [{ responseDirectives: dirs({ bits: B.maxAge | B.sMaxage, maxAge: 100, sMaxAge: 50 }) }, { storable: true, lifetime: 100, initialAge: 0 }],
    [{ shared: true, responseDirectives: dirs({ bits: B.maxAge | B.sMaxage, maxAge: 100, sMaxAge: 50 }) }, { storable: true, lifetime: 50, initialAge: 0 }],
    [{ cacheByDefault: 77, headers: { etag: '"v"' } }, { storable: true, lifetime: 77, initialAge: 0 }],
    [{ responseDirectives: dirs({ bits: B.maxAge, maxAge: 100 }), headers: { age: '10' }, responseTime: T0 + 3000 }, { storable: true, lifetime: 100, initialAge: 13 }],
    [{ methodCacheable: false, responseDirectives: dirs({ bits: B.maxAge, maxAge: 100 }) }, { storable: false, lifetime: 100, initialAge: 0 }],
    [{ requestDirectives: dirs({ bits: B.noStore }), responseDirectives: dirs({ bits: B.maxAge, maxAge: 100 }) }, { storable: false, lifetime: 100, initialAge: 0 }],
    [{ status: 299, responseDirectives: dirs({ bits: B.maxAge, maxAge: 100 }) }, { storable: true, lifetime: 100, initialAge: 0 }],
    [{ status: 1000, responseDirectives: dirs({ bits: B.maxAge, maxAge: 100 }) }, { storable: false, lifetime: 100, initialAge: 0 }]
  ]
  for (const [over, expected] of cases) {
    const x = {
      status: 200,
      methodCacheable: true,
      shared: false,
      authorization: false,
      requestDirectives: rules.NO_DIRECTIVES,
      responseDirectives: rules.NO_DIRECTIVES,
      headers: {},
      varyStar: false,
      cacheByDefault: undefined,
      requestTime: T0,
      responseTime: T0,
      ...over
    }
    const what = JSON.stringify(over)
    // Rust through the layout's names…
    io.fill(NaN)
    io[A.status] = x.status
    io[A.flags] = (x.methodCacheable ? I.flags.methodCacheable : 0) | (x.shared ? I.flags.shared : 0) |
      (x.headers.etag ? I.flags.hasValidator : 0)
    io[A.requestBits] = x.requestDirectives.bits
    io[A.responseBits] = x.responseDirectives.bits
    io[A.maxAge] = x.responseDirectives.maxAge
    io[A.sMaxage] = x.responseDirectives.sMaxAge
    io[A.staleWhileRevalidate] = x.responseDirectives.swr
    io[A.staleIfError] = x.responseDirectives.sie
    io[A.cacheByDefault] = x.cacheByDefault ?? NaN
    io[A.requestTime] = x.requestTime
    io[A.responseTime] = x.responseTime
    binding.interceptorArrive(`\0\0\0${x.headers.age ?? ''}`)
    assert.deepEqual({ storable: io[R.storable] === 1, lifetime: io[R.lifetime], initialAge: io[R.initialAge] }, expected, 'binding: ' + what)
    // …and the shell through its own constants (nothing left from the call above).
    io.fill(NaN)
    assert.deepEqual(rules.arrive(x), expected, 'shell: ' + what)
  }
})

test('interceptor: interceptorUse reads the presentation slots the shell writes', () => {
  const S = I.presentation
  const B = I.directiveBits
  const U = I.uses
  const cases = [
    // [shell arguments, expected use code]
    [{ lifetime: 100, age: 10 }, U.serve],
    [{ lifetime: 10, age: 100 }, U.revalidate],
    [{ response: { bits: B.staleWhileRevalidate, swr: 10 }, lifetime: 10, age: 15 }, U.serveStaleAndRevalidate],
    [{ response: { bits: B.staleWhileRevalidate, swr: 2 }, lifetime: 10, age: 15 }, U.revalidate],
    [{ response: { bits: B.staleIfError, sie: 10 }, lifetime: 10, age: 15 }, U.revalidate | U.staleIfError],
    [{ request: { bits: B.staleIfError, sie: 10 }, lifetime: 10, age: 15 }, U.revalidate | U.staleIfError],
    [{ request: { bits: B.staleIfError, sie: 1 }, lifetime: 10, age: 15 }, U.revalidate],
    [{ request: { bits: B.maxAge, maxAge: 5 }, lifetime: 100, age: 10 }, U.revalidate],
    [{ request: { bits: B.maxAge, maxAge: 20 }, lifetime: 100, age: 10 }, U.serve],
    [{ request: { bits: B.minFresh, minFresh: 95 }, lifetime: 100, age: 10 }, U.revalidate],
    [{ request: { bits: B.minFresh, minFresh: 50 }, lifetime: 100, age: 10 }, U.serve],
    [{ request: { bits: B.maxStale, maxStale: 10 }, lifetime: 10, age: 15 }, U.serve],
    [{ request: { bits: B.maxStale, maxStale: 2 }, lifetime: 10, age: 15 }, U.revalidate],
    [{ request: { bits: B.onlyIfCached }, lifetime: 10, age: 15 }, U.gatewayTimeout],
    [{ pragmaNoCache: true, lifetime: 100, age: 10 }, U.revalidate],
    [{ response: { bits: B.proxyRevalidate }, request: { bits: B.maxStale, maxStale: 10 }, lifetime: 10, age: 15 }, U.serve],
    [{ shared: true, response: { bits: B.proxyRevalidate }, request: { bits: B.maxStale, maxStale: 10 }, lifetime: 10, age: 15 }, U.revalidate]
  ]
  for (const [c, expected] of cases) {
    const response = dirs(c.response)
    const request = dirs(c.request)
    const what = JSON.stringify(c)
    io.fill(NaN)
    io[S.flags] = (c.shared ? I.flags.shared : 0) | (c.pragmaNoCache ? I.flags.pragmaNoCache : 0)
    io[S.responseBits] = response.bits
    io[S.responseStaleWhileRevalidate] = response.swr
    io[S.responseStaleIfError] = response.sie
    io[S.requestBits] = request.bits
    io[S.requestMaxAge] = request.maxAge
    io[S.requestMinFresh] = request.minFresh
    io[S.requestMaxStale] = request.maxStale
    io[S.requestStaleIfError] = request.sie
    io[S.lifetime] = c.lifetime
    io[S.age] = c.age
    assert.equal(binding.interceptorUse(), expected, 'binding: ' + what)
    io.fill(NaN) // nothing left from the call above
    assert.equal(rules.use(!!c.shared, response, request, !!c.pragmaNoCache, c.lifetime, c.age), expected, 'shell: ' + what)
  }
})
