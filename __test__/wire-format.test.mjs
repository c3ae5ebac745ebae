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
