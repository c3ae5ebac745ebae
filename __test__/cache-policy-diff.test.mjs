// Differential test: generated request/response/option/time combinations run
// through ferrocache's CachePolicy and npm http-cache-semantics 4.3; every
// public method must agree. Deliberate differences (docs/cache-policy.md) are
// not generated: Date-like headers are either valid HTTP-dates (RFC 9110
// §5.6.7) or strings V8's Date.parse also rejects (plus Expires "0", which both
// treat as expired).
process.env.TZ = 'UTC' // asctime dates carry no zone; V8 would read them as local time

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { CachePolicy } = require('../index.js')
const Peer = require('http-cache-semantics')

const CASES = 20000

function mulberry32 (seed) {
  return function () {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const clock = { t: 0 }
class Ours extends CachePolicy { now () { return clock.t } }
class Theirs extends Peer { now () { return clock.t } }

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0)
const DAY = 86400000
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

function makeGen (rand) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)]
  const chance = (p) => rand() < p
  const int = (n) => Math.floor(rand() * n)
  const pad = (n) => String(n).padStart(2, '0')

  function httpDate (ms) {
    const d = new Date(Math.floor(ms / 1000) * 1000)
    const form = int(6)
    if (form === 4) { // RFC 850
      return `${WEEKDAYS[d.getUTCDay()]}, ${pad(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-` +
        `${pad(d.getUTCFullYear() % 100)} ${d.toISOString().slice(11, 19)} GMT`
    }
    if (form === 5) { // asctime
      return `${WEEKDAYS[d.getUTCDay()].slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ` +
        `${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`
    }
    return d.toUTCString()
  }

  const num = () => pick(['0', '1', '5', '60', '300', '3600', '86400', '864000', '99999999999999999999',
    '-5', '1.5', '', 'abc', '"30"', ' 7 ', '2e3'])

  function directive (request) {
    const names = request
      ? ['no-cache', 'no-store', 'max-age', 'min-fresh', 'max-stale', 'only-if-cached', 'foo']
      : ['public', 'private', 'no-store', 'no-cache', 'max-age', 's-maxage', 'must-revalidate',
          'proxy-revalidate', 'immutable', 'stale-while-revalidate', 'stale-if-error', 'pre-check',
          'post-check', 'no-transform', '123', 'x=y']
    const name = pick(names)
    const valued = ['max-age', 's-maxage', 'min-fresh', 'stale-while-revalidate', 'stale-if-error',
      'pre-check', 'post-check']
    if (valued.includes(name) || (name === 'max-stale' && chance(0.6))) {
      const v = num()
      return chance(0.15) ? `${name}="${v}"` : `${name}=${v}`
    }
    return chance(0.1) ? ` ${name} ` : name
  }

  function cacheControl (request) {
    if (!request && chance(0.3)) {
      return pick(['public, max-age=300, stale-while-revalidate=60', 'max-age=3600', 's-maxage=600, max-age=60',
        'public, immutable, max-age=31536000', 'no-cache', 'private, max-age=60'])
    }
    const n = int(request ? 3 : 5)
    const parts = []
    for (let i = 0; i < n; i++) parts.push(directive(request))
    return parts.join(pick([', ', ',', ' , ']))
  }

  function request () {
    const headers = {}
    headers.host = pick(['shop.example', 'shop.example', 'other.example'])
    if (chance(0.8)) headers['accept-encoding'] = pick(['gzip', 'br', 'gzip, br'])
    if (chance(0.5)) headers.accept = pick(['text/html', '*/*'])
    if (chance(0.3)) headers.cookie = pick(['a=1', 'a=2'])
    if (chance(0.1)) headers.authorization = 'Bearer x'
    if (chance(0.3)) headers['cache-control'] = cacheControl(true)
    if (chance(0.08)) headers.pragma = pick(['no-cache', 'x'])
    if (chance(0.15)) headers['if-none-match'] = pick(['"x"', 'W/"y"', '"x", W/"z"'])
    if (chance(0.15)) headers['if-modified-since'] = httpDate(T0 - DAY)
    if (chance(0.05)) headers['if-match'] = '"m"'
    if (chance(0.05)) headers['if-unmodified-since'] = httpDate(T0)
    if (chance(0.05)) headers['accept-ranges'] = 'bytes'
    if (chance(0.05)) headers['if-range'] = '"r"'
    if (chance(0.1)) headers.connection = pick(['keep-alive', 'close, x-trace', ' x-trace ,te'])
    if (chance(0.1)) headers['x-trace'] = 't'
    if (chance(0.05)) headers.te = 'trailers'
    if (chance(0.05)) headers.warning = pick(['110 - "stale"', '299 - "x", 112 - "y"'])
    const req = { headers }
    if (chance(0.9)) req.url = pick(['/products/123', '/products/123', '/other'])
    if (chance(0.9)) req.method = pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT'])
    return req
  }

  function response (date) {
    const headers = {}
    if (chance(0.85)) headers['cache-control'] = cacheControl(false)
    if (chance(0.8)) headers.date = chance(0.9) ? httpDate(date) : 'garbage'
    if (chance(0.3)) {
      headers.expires = pick([httpDate(date + pick([-1, 1, 60, 3600, 86400 * 3]) * 1000), '0',
        'never', httpDate(T0 + pick([-1, 1, 60]) * 1000)])
    }
    if (chance(0.5)) headers['last-modified'] = httpDate(date - pick([0, 1, 3600, 86400, 864000, 8640000]) * 1000)
    if (chance(0.2)) headers.age = pick(['0', '10', '100', '-5', 'abc', '1.5', '99999'])
    if (chance(0.4)) headers.vary = pick(['accept-encoding', 'Accept-Encoding, Cookie', '*', 'accept', ' cookie '])
    if (chance(0.5)) headers.etag = pick(['"abc"', 'W/"abc"', '"x"'])
    if (chance(0.1)) headers.pragma = pick(['no-cache', 'foo'])
    if (chance(0.1)) headers['set-cookie'] = 'sid=1'
    if (chance(0.1)) headers.connection = pick(['keep-alive', 'x-foo', 'close, x-foo'])
    if (chance(0.1)) headers['x-foo'] = 'bar'
    if (chance(0.05)) headers['keep-alive'] = 'timeout=5'
    if (chance(0.05)) headers['transfer-encoding'] = 'chunked'
    if (chance(0.08)) headers.warning = pick(['110 - "stale"', '299 - "x"', '199 a, 299 b'])
    headers['content-type'] = 'text/html'
    if (chance(0.3)) headers['content-length'] = '123'
    const res = { headers }
    if (chance(0.95)) res.status = pick([200, 200, 200, 203, 204, 206, 301, 302, 307, 404, 410, 500, 503])
    return res
  }

  function revalidation (res) {
    const headers = {}
    if (chance(0.6)) headers.etag = pick(['"abc"', 'W/"abc"', '"x"', res.headers.etag ?? '"n"'])
    if (chance(0.4)) headers['last-modified'] = res.headers['last-modified'] ?? httpDate(T0)
    if (chance(0.5)) headers['cache-control'] = cacheControl(false)
    if (chance(0.3)) headers['content-length'] = '0'
    if (chance(0.3)) headers['x-new'] = '1'
    const r = { headers }
    if (chance(0.9)) r.status = pick([304, 304, 304, 200, 500, 503])
    return chance(0.03) ? undefined : r
  }

  function options () {
    const o = {}
    if (chance(0.5)) o.shared = chance(0.5)
    if (chance(0.3)) o.cacheHeuristic = pick([0, 0.1, 0.5, 1])
    if (chance(0.3)) o.immutableMinTimeToLive = pick([0, 1000, 3600 * 1000])
    if (chance(0.3)) o.ignoreCargoCult = chance(0.5)
    return o
  }

  return { pick, chance, request, response, revalidation, options }
}

/** Runs `fn`, turning a throw into a comparable value. */
function attempt (fn) {
  try {
    return { value: fn() }
  } catch (e) {
    return { threw: e.constructor.name, message: e.message }
  }
}

/** Everything a policy answers for `req2` at the current clock. */
function observe (p, req2) {
  return {
    storable: attempt(() => p.storable()),
    satisfies: attempt(() => p.satisfiesWithoutRevalidation(req2)),
    timeToLive: attempt(() => p.timeToLive()),
    maxAge: attempt(() => p.maxAge()),
    age: attempt(() => p.age()),
    stale: attempt(() => p.stale()),
    date: attempt(() => p.date()),
    status: attempt(() => p.status()),
    swr: attempt(() => p.useStaleWhileRevalidate()),
    responseHeaders: attempt(() => p.responseHeaders()),
    revalidationHeaders: attempt(() => p.revalidationHeaders(req2)),
    evaluateRequest: attempt(() => p.evaluateRequest(req2))
  }
}

function revalidated (p, req2, res2) {
  const r = attempt(() => p.revalidatedPolicy(req2, res2))
  if (!r.value) return r
  const { policy, modified, matches } = r.value
  return {
    same: policy === p,
    modified,
    matches,
    obj: JSON.parse(JSON.stringify(policy.toObject())),
    ttl: policy.timeToLive()
  }
}

test(`${CASES} generated exchanges agree with http-cache-semantics 4.3`, () => {
  const g = makeGen(mulberry32(0x5eed))
  let storable = 0
  let fresh = 0
  for (let i = 0; i < CASES; i++) {
    const req = g.request()
    const res = g.response(T0 + g.pick([0, -60000, 3600000]))
    const opts = g.options()
    const req2 = g.chance(0.7) ? req : g.request()
    const res2 = g.revalidation(res)
    const later = T0 + g.pick([0, 1000, 59000, 301000, 400000, 3600000, DAY + 1000, 30 * DAY])
    const ctx = () => JSON.stringify({ i, req, res, opts, req2, res2, later })

    clock.t = T0
    const ours = attempt(() => new Ours(req, res, { ...opts }))
    const theirs = attempt(() => new Theirs(req, res, { ...opts }))
    assert.equal(!!ours.value, !!theirs.value, ctx())
    if (!ours.value) continue
    const a = ours.value
    const b = theirs.value

    // toObject is the same JSON (field names, values, directive objects).
    assert.deepEqual(JSON.parse(JSON.stringify(a.toObject())), JSON.parse(JSON.stringify(b.toObject())), ctx())

    clock.t = later
    const oa = observe(a, req2)
    assert.deepEqual(oa, observe(b, req2), ctx())
    if (oa.storable.value) storable++
    if (oa.satisfies.value) fresh++

    // revalidatedPolicy: same decision and same new policy.
    assert.deepEqual(revalidated(a, req2, res2), revalidated(b, req2, res2), ctx())

    // Interop: each side restores the other's serialization (through JSON,
    // as a store would) and answers like the other side restoring it.
    if (i % 4 === 0) {
      const fromPeerJson = JSON.parse(JSON.stringify(b.toObject()))
      const fromOursJson = JSON.parse(JSON.stringify(a.toObject()))
      const restoredByUs = Ours.fromObject(fromPeerJson)
      assert.ok(restoredByUs instanceof Ours)
      assert.deepEqual(observe(restoredByUs, req2), observe(Theirs.fromObject(fromPeerJson), req2), ctx())
      assert.deepEqual(observe(Theirs.fromObject(fromOursJson), req2), observe(Ours.fromObject(fromOursJson), req2), ctx())
    }
  }
  // The generator must exercise both outcomes, or the comparison proves little.
  assert.ok(storable > CASES / 5 && storable < CASES * 0.95, `storable ${storable}`)
  assert.ok(fresh > CASES / 20, `fresh ${fresh}`)
})
