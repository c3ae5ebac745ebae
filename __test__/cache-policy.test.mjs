// Behaviour of CachePolicy, case by case. Each test names the
// http-cache-semantics 4.3 behaviour (and RFC 9111 rule) it pins; where the
// real package is handy the test also asserts it behaves the same.
process.env.TZ = 'UTC'

import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { CachePolicy } = require('../index.js')
const Peer = require('http-cache-semantics')

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0)
const DATE = new Date(T0).toUTCString()

/** A policy class whose clock the test sets. */
function clocked (Base = CachePolicy) {
  const C = class extends Base { now () { return C.t } }
  C.t = T0
  return C
}

const req = { url: '/products/123', method: 'GET', headers: { host: 'shop.example', 'accept-encoding': 'gzip' } }
function res (headers, status = 200) {
  return { status, headers: { date: DATE, ...headers } }
}

describe('constructor', () => {
  // http-cache-semantics: `Response headers missing` / `Request headers missing` (plain Error).
  test('missing headers throw the same errors', () => {
    for (const C of [CachePolicy, Peer]) {
      assert.throws(() => new C(req, {}), { name: 'Error', message: 'Response headers missing' })
      assert.throws(() => new C(req, undefined), { message: 'Response headers missing' })
      assert.throws(() => new C({}, res({})), { message: 'Request headers missing' })
      assert.throws(() => new C(undefined, res({})), { message: 'Request headers missing' })
    }
  })

  // http-cache-semantics: status defaults to 200, method to GET.
  test('defaults: status 200, method GET', () => {
    const p = new CachePolicy({ headers: {} }, { headers: { 'cache-control': 'max-age=60' } })
    assert.equal(p.status(), 200)
    assert.equal(p.storable(), true)
    assert.equal(p.toObject().m, 'GET')
  })

  // http-cache-semantics: options default shared=true, cacheHeuristic=0.1, immutableMinTimeToLive=24h.
  test('option defaults are serialized like the package', () => {
    const o = new CachePolicy(req, res({})).toObject()
    assert.equal(o.sh, true)
    assert.equal(o.ch, 0.1)
    assert.equal(o.imm, 86400000)
    assert.equal(o.icc, false)
  })
})

describe('storable (RFC 9111 §3)', () => {
  // no-store in request or response, private in shared caches.
  test('no-store and private', () => {
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'no-store, max-age=60' })).storable(), false)
    const noStoreReq = { ...req, headers: { ...req.headers, 'cache-control': 'no-store' } }
    assert.equal(new CachePolicy(noStoreReq, res({ 'cache-control': 'max-age=60' })).storable(), false)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'private, max-age=60' })).storable(), false)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'private, max-age=60' }), { shared: false }).storable(), true)
  })

  // Authorization: shared caches store only with public, s-maxage or must-revalidate.
  test('authorized requests in shared caches', () => {
    const auth = { ...req, headers: { ...req.headers, authorization: 'Basic x' } }
    assert.equal(new CachePolicy(auth, res({ 'cache-control': 'max-age=60' })).storable(), false)
    assert.equal(new CachePolicy(auth, res({ 'cache-control': 'public, max-age=60' })).storable(), true)
    assert.equal(new CachePolicy(auth, res({ 'cache-control': 's-maxage=60' })).storable(), true)
    assert.equal(new CachePolicy(auth, res({ 'cache-control': 'must-revalidate' })).storable(), true)
    assert.equal(new CachePolicy(auth, res({ 'cache-control': 'max-age=60' }), { shared: false }).storable(), true)
  })

  // Methods: GET/HEAD, POST only with explicit expiration.
  test('methods', () => {
    const r = res({ 'cache-control': 'max-age=60' })
    assert.equal(new CachePolicy({ ...req, method: 'HEAD' }, r).storable(), true)
    assert.equal(new CachePolicy({ ...req, method: 'POST' }, r).storable(), true)
    assert.equal(new CachePolicy({ ...req, method: 'POST' }, res({})).storable(), false)
    assert.equal(new CachePolicy({ ...req, method: 'PUT' }, r).storable(), false)
  })

  // Understood statuses; default-cacheable statuses; 206 and 5xx are not.
  test('statuses', () => {
    assert.equal(new CachePolicy(req, res({}, 404)).storable(), true)
    assert.equal(new CachePolicy(req, res({}, 302)).storable(), false) // understood, not cacheable by default
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=5' }, 302)).storable(), true)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=5' }, 206)).storable(), false)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=5' }, 500)).storable(), false)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=5' }, '200')).storable(), false)
  })
})

describe('freshness (RFC 9111 §4.2)', () => {
  // s-maxage wins in shared caches, max-age otherwise; proxy-revalidate zeroes shared lifetime.
  test('s-maxage, max-age, proxy-revalidate', () => {
    const r = res({ 'cache-control': 'max-age=60, s-maxage=600' })
    assert.equal(new CachePolicy(req, r).maxAge(), 600)
    assert.equal(new CachePolicy(req, r, { shared: false }).maxAge(), 60)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=60, proxy-revalidate' })).maxAge(), 0)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=60, proxy-revalidate' }), { shared: false }).maxAge(), 60)
  })

  // Quoted values and duplicates: the last duplicate wins (as the package's object assignment does).
  test('Cache-Control quoting and duplicates', () => {
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age="120"' })).maxAge(), 120)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'max-age=10, max-age=20' })).maxAge(), 20)
    assert.deepEqual(new CachePolicy(req, res({ 'cache-control': ' public ,max-age = 5 ' })).toObject().rescc,
      { public: true, 'max-age': '5' })
  })

  // Expires relative to the server's Date (bad clocks), invalid Expires = expired.
  test('Expires with a skewed clock and invalid values', () => {
    const C = clocked()
    const skewed = res({ date: 'Mon, 01 Jan 2024 00:00:00 GMT', expires: 'Mon, 01 Jan 2024 01:00:00 GMT' })
    const p = new C(req, skewed)
    assert.equal(p.maxAge(), 3600) // not Expires - now (which is years in the past)
    assert.equal(p.timeToLive(), 3600000)
    assert.equal(new C(req, res({ expires: '0' })).maxAge(), 0)
    assert.equal(new C(req, res({ expires: 'garbage' })).timeToLive(), 0)
    // max-age overrides Expires.
    assert.equal(new C(req, res({ expires: '0', 'cache-control': 'max-age=5' })).maxAge(), 5)
  })

  // Defect 3 (issue 15): years of 1-3 digits were read as years 1-999, so a
  // 2-digit-year Date made maxAge ~2000 years, and a 2-digit-year
  // Last-Modified a ~200-year heuristic. RFC 9110 §5.6.7: year = 4DIGIT; a
  // value that is not an HTTP-date is invalid and the Date falls back to the
  // response time (as http-cache-semantics does for a Date.parse NaN). The
  // peer's Date.parse reads "26" as 2026, so with the response received at
  // that instant both give the same lifetimes.
  test('HTTP-date years have exactly 4 digits; other Date values fall back to the response time', () => {
    const C = clocked()
    const P = clocked(Peer)
    const cases = [
      [{ date: 'Thu, 15 Jan 26 12:00:00 GMT', expires: 'Thu, 15 Jan 2026 13:00:00 GMT' }, 3600],
      [{ date: 'Thu, 15 Jan 026 12:00:00 GMT', expires: 'Thu, 15 Jan 2026 13:00:00 GMT' }, 3600],
      [{ date: 'Thu Jan 15 12:00:00 26', expires: 'Thu, 15 Jan 2026 13:00:00 GMT' }, 3600],
      [{ date: DATE, 'last-modified': 'Thu, 15 Jan 26 12:00:00 GMT' }, 0],
      [{ date: DATE, 'last-modified': 'Thu, 15 Jan 2 12:00:00 GMT', 'cache-control': 'public' }, 0]
    ]
    for (const [headers, maxAge] of cases) {
      const r = { status: 200, headers }
      const ours = new C(req, r)
      assert.equal(ours.maxAge(), maxAge, JSON.stringify(headers))
      assert.equal(ours.timeToLive(), maxAge * 1000, JSON.stringify(headers))
      if (!headers['last-modified']?.includes(' 2 ')) {
        assert.equal(new P(req, r).maxAge(), maxAge, 'http-cache-semantics: ' + JSON.stringify(headers))
      }
    }
    // The Date itself: an invalid one is the response time.
    assert.equal(new C(req, { status: 200, headers: { date: 'Thu, 15 Jan 26 12:00:00 GMT' } }).date(), T0)
  })

  // Defect 3 (issue 15): RFC 9110 §5.6.7 time-of-day runs to 23:59:60 (a
  // leap second); :60 was rejected, which made an Expires at a leap second
  // invalid and so the response expired. (http-cache-semantics' Date.parse
  // reads :60 as :00 of the same minute, 60 s earlier; fresh either way.)
  test('a leap second (:60) is a valid HTTP-date', () => {
    const C = clocked()
    C.t = Date.UTC(2016, 11, 31, 23, 0, 0)
    const P = clocked(Peer)
    P.t = C.t
    const r = { status: 200, headers: { date: 'Sat, 31 Dec 2016 23:00:00 GMT', expires: 'Sat, 31 Dec 2016 23:59:60 GMT' } }
    const ours = new C(req, r)
    assert.equal(ours.maxAge(), 3600)
    assert.equal(ours.stale(), false)
    const peer = new P(req, r)
    assert.equal(peer.stale(), false)
    assert.ok(peer.maxAge() > 0)
    const asDate = new C(req, { status: 200, headers: { date: 'Sat, 31 Dec 2016 23:59:60 GMT' } })
    assert.equal(asDate.date(), Date.UTC(2017, 0, 1, 0, 0, 0))
  })

  // Heuristic freshness: 10% of (Date - Last-Modified) by default, cacheHeuristic option.
  test('heuristic from Last-Modified', () => {
    const lm = new Date(T0 - 10 * 3600 * 1000).toUTCString()
    assert.equal(new CachePolicy(req, res({ 'last-modified': lm })).maxAge(), 3600)
    assert.equal(new CachePolicy(req, res({ 'last-modified': lm }), { cacheHeuristic: 0.5 }).maxAge(), 18000)
    assert.equal(new CachePolicy(req, res({ 'last-modified': lm }, 302)).maxAge(), 0) // not storable
  })

  // immutable: minimum lifetime immutableMinTimeToLive (compared as the package does).
  test('immutable', () => {
    const r = res({ 'cache-control': 'immutable' })
    assert.equal(new CachePolicy(req, r).maxAge(), new Peer(req, r).maxAge())
    assert.equal(new CachePolicy(req, r, { immutableMinTimeToLive: 1000 }).maxAge(), 1000)
    assert.equal(new CachePolicy(req, res({ 'cache-control': 'immutable, max-age=5' })).maxAge(), 5)
  })

  // Pragma: no-cache only counts without Cache-Control.
  test('Pragma: no-cache', () => {
    assert.equal(new CachePolicy(req, res({ pragma: 'no-cache', expires: new Date(T0 + 60000).toUTCString() })).maxAge(), 0)
    assert.equal(new CachePolicy(req, res({ pragma: 'no-cache', 'cache-control': 'max-age=60' })).maxAge(), 60)
    assert.deepEqual(new CachePolicy(req, res({ pragma: 'no-cache' })).toObject().rescc, { 'no-cache': true })
  })

  // Set-Cookie in shared caches needs public or immutable; Vary: * never reused.
  test('Set-Cookie and Vary: *', () => {
    assert.equal(new CachePolicy(req, res({ 'set-cookie': 'a=1', 'cache-control': 'max-age=60' })).maxAge(), 0)
    assert.equal(new CachePolicy(req, res({ 'set-cookie': 'a=1', 'cache-control': 'public, max-age=60' })).maxAge(), 60)
    assert.equal(new CachePolicy(req, res({ 'set-cookie': 'a=1', 'cache-control': 'max-age=60' }), { shared: false }).maxAge(), 60)
    const star = new CachePolicy(req, res({ vary: '*', 'cache-control': 'max-age=60' }))
    assert.equal(star.maxAge(), 0)
    assert.equal(star.satisfiesWithoutRevalidation(req), false)
  })

  // Age header adds to the resident time; age(), stale(), timeToLive().
  test('Age, stale, timeToLive', () => {
    const C = clocked()
    const p = new C(req, res({ 'cache-control': 'max-age=100', age: '30' }))
    assert.equal(p.age(), 30)
    C.t = T0 + 20000
    assert.equal(p.age(), 50)
    assert.equal(p.timeToLive(), 50000)
    assert.equal(p.stale(), false)
    C.t = T0 + 70000
    assert.equal(p.stale(), true)
    assert.equal(p.timeToLive(), 0)
  })

  // date(): the Date header, or the response time without a valid one.
  test('date()', () => {
    const C = clocked()
    assert.equal(new C(req, res({})).date(), T0)
    C.t = T0 + 5
    assert.equal(new C(req, { headers: { date: 'nonsense' } }).date(), T0 + 5)
  })

  // ignoreCargoCult: pre-check+post-check drop no-cache/no-store/must-revalidate, Expires and Pragma.
  test('ignoreCargoCult', () => {
    const r = res({
      'cache-control': 'no-store, no-cache, must-revalidate, post-check=0, pre-check=0, max-age=60',
      expires: '0',
      pragma: 'no-cache'
    })
    assert.equal(new CachePolicy(req, r).storable(), false)
    const p = new CachePolicy(req, r, { ignoreCargoCult: true })
    assert.equal(p.storable(), true)
    assert.equal(p.maxAge(), 60)
    assert.equal(p.responseHeaders()['cache-control'], 'max-age=60')
    assert.equal(p.responseHeaders().expires, undefined)
    assert.equal(r.headers.expires, '0', 'caller headers untouched')
    const PC = clocked(Peer)
    const C = clocked()
    assert.deepEqual(new C(req, r, { ignoreCargoCult: true }).toObject(), new PC(req, r, { ignoreCargoCult: true }).toObject())
  })
})

describe('stale-while-revalidate / stale-if-error (RFC 5861)', () => {
  test('evaluateRequest serves stale while revalidating asynchronously', () => {
    const C = clocked()
    const p = new C(req, res({ 'cache-control': 'max-age=10, stale-while-revalidate=20', etag: '"e"' }))
    C.t = T0 + 15000
    assert.equal(p.useStaleWhileRevalidate(), true)
    assert.equal(p.satisfiesWithoutRevalidation(req), false)
    const r = p.evaluateRequest(req)
    assert.equal(r.response.status, 200)
    assert.equal(r.response.headers.age, '15')
    assert.deepEqual(r.revalidation, { synchronous: false, headers: { ...req.headers, 'if-none-match': '"e"' } })
    assert.equal(p.timeToLive(), 15000)
    C.t = T0 + 31000
    assert.equal(p.useStaleWhileRevalidate(), false)
    assert.equal(p.evaluateRequest(req).response, undefined)
    assert.equal(p.evaluateRequest(req).revalidation.synchronous, true)
  })

  test('revalidatedPolicy keeps the stored response on 5xx within stale-if-error', () => {
    const C = clocked()
    const p = new C(req, res({ 'cache-control': 'max-age=10, stale-if-error=100' }))
    C.t = T0 + 50000
    assert.equal(p.timeToLive(), 60000)
    const r = p.revalidatedPolicy(req, { status: 503, headers: {} })
    assert.equal(r.policy, p)
    assert.equal(r.modified, false)
    assert.equal(r.matches, true)
    assert.equal(p.revalidatedPolicy(req, undefined).policy, p) // no response = error
    C.t = T0 + 200000
    assert.throws(() => p.revalidatedPolicy(req, undefined), { message: 'Response headers missing' })
  })
})

describe('evaluateRequest / satisfiesWithoutRevalidation (RFC 9111 §4)', () => {
  const p = () => new (clocked())(req, res({ 'cache-control': 'max-age=100', vary: 'Accept-Encoding' }))

  test('fresh hit returns updated headers and no revalidation', () => {
    const r = p().evaluateRequest(req)
    assert.equal(r.revalidation, undefined)
    assert.equal(r.response.headers.date, DATE)
    assert.equal(r.response.headers.age, '0')
  })

  // URL, host, method and Vary'd headers must match.
  test('request matching', () => {
    const pol = p()
    assert.equal(pol.satisfiesWithoutRevalidation(req), true)
    assert.equal(pol.satisfiesWithoutRevalidation({ ...req, url: '/other' }), false)
    assert.equal(pol.satisfiesWithoutRevalidation({ ...req, headers: { ...req.headers, host: 'x' } }), false)
    assert.equal(pol.satisfiesWithoutRevalidation({ ...req, method: 'POST' }), false)
    assert.equal(pol.satisfiesWithoutRevalidation({ ...req, headers: { ...req.headers, 'accept-encoding': 'br' } }), false)
    assert.equal(pol.satisfiesWithoutRevalidation({ ...req, method: undefined }), true) // no method matches
  })

  // Request directives: no-cache, Pragma, max-age, min-fresh, max-stale.
  test('request Cache-Control', () => {
    const C = clocked()
    const pol = new C(req, res({ 'cache-control': 'max-age=100' }))
    const withCc = (cc, extra = {}) => ({ ...req, headers: { ...req.headers, 'cache-control': cc, ...extra } })
    C.t = T0 + 50000
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('no-cache')), false)
    assert.equal(pol.satisfiesWithoutRevalidation({ ...req, headers: { ...req.headers, pragma: 'no-cache' } }), false)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('max-age=40')), false)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('max-age=60')), true)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('min-fresh=60')), false)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('min-fresh=40')), true)
    C.t = T0 + 150000
    assert.equal(pol.satisfiesWithoutRevalidation(req), false)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('max-stale')), true)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('max-stale=60')), true)
    assert.equal(pol.satisfiesWithoutRevalidation(withCc('max-stale=10')), false)
  })

  // must-revalidate never serves without validation.
  test('must-revalidate', () => {
    const pol = new CachePolicy(req, res({ 'cache-control': 'max-age=100, must-revalidate' }))
    assert.equal(pol.satisfiesWithoutRevalidation(req), false)
    assert.equal(pol.evaluateRequest(req).revalidation.synchronous, true)
  })

  test('request without headers', () => {
    assert.throws(() => p().satisfiesWithoutRevalidation({}), { message: 'Request headers missing' })
    assert.throws(() => p().evaluateRequest(undefined), { message: 'Request headers missing' })
    assert.throws(() => p().revalidationHeaders({}), { message: 'Request headers missing' })
    assert.throws(() => p().revalidatedPolicy({}, { headers: {} }), { message: 'Request headers missing' })
  })
})

describe('responseHeaders', () => {
  // Hop-by-hop and Connection-listed headers removed, 1xx warnings dropped, Age/Date updated; input untouched.
  test('removes hop-by-hop fields without mutating the input', () => {
    const C = clocked()
    const headers = {
      'cache-control': 'max-age=100',
      date: DATE,
      connection: 'keep-alive, x-secret',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'x-secret': '1',
      'x-public': '2',
      warning: '110 - "stale", 299 - "keep"',
      age: '5'
    }
    const snapshot = JSON.stringify(headers)
    const p = new C(req, { headers })
    C.t = T0 + 10000
    assert.deepEqual(p.responseHeaders(), {
      'cache-control': 'max-age=100',
      'x-public': '2',
      warning: '299 - "keep"',
      age: '15',
      date: new Date(T0 + 10000).toUTCString()
    })
    assert.equal(JSON.stringify(headers), snapshot)
    const a = p.responseHeaders()
    a.mutated = true
    assert.equal(p.responseHeaders().mutated, undefined, 'each call returns a fresh object')
  })

  // Warning 113 after 24 h on a heuristic lifetime over 24 h.
  test('heuristic expiration warning', () => {
    const C = clocked()
    const p = new C(req, res({ 'last-modified': new Date(T0 - 100 * 86400000).toUTCString() }))
    C.t = T0 + 2 * 86400000
    assert.equal(p.responseHeaders().warning, '113 - "rfc7234 5.5.4"')
    const PC = clocked(Peer)
    const q = new PC(req, res({ 'last-modified': new Date(T0 - 100 * 86400000).toUTCString() }))
    PC.t = C.t
    assert.deepEqual(p.responseHeaders(), q.responseHeaders())
  })
})

describe('revalidationHeaders (RFC 9111 §4.3.1)', () => {
  test('adds If-None-Match and If-Modified-Since', () => {
    const lm = new Date(T0 - 86400000).toUTCString()
    const p = new CachePolicy(req, res({ etag: '"a"', 'last-modified': lm, 'cache-control': 'max-age=1' }))
    const h = p.revalidationHeaders({ ...req, headers: { ...req.headers, 'if-none-match': '"b"', 'if-range': '"x"' } })
    assert.equal(h['if-none-match'], '"b", "a"')
    assert.equal(h['if-modified-since'], lm)
    assert.equal(h['if-range'], undefined)
  })

  // Weak validators only in simple GETs: dropped for other methods or with If-Match & co.
  test('weak ETags are stripped when weak validators are forbidden', () => {
    const p = new CachePolicy({ ...req, method: 'HEAD' }, res({ etag: 'W/"a"', 'last-modified': DATE, 'cache-control': 'max-age=1' }))
    const h = p.revalidationHeaders({ ...req, method: 'HEAD', headers: { ...req.headers, 'if-none-match': '"s", W/"w"' } })
    assert.equal(h['if-none-match'], '"s"')
    assert.equal(h['if-modified-since'], undefined)
    const g = new CachePolicy(req, res({ etag: 'W/"a"', 'cache-control': 'max-age=1' }))
    const h2 = g.revalidationHeaders({ ...req, headers: { ...req.headers, 'if-match': '"m"' } })
    assert.equal(h2['if-none-match'], undefined)
  })

  // Not the same resource / not storable: validators removed.
  test('no validators for another resource', () => {
    const p = new CachePolicy(req, res({ etag: '"a"', 'cache-control': 'max-age=1' }))
    const h = p.revalidationHeaders({ url: '/x', headers: { host: 'shop.example', 'if-none-match': '"z"' } })
    assert.deepEqual(h, { host: 'shop.example' })
  })
})

describe('revalidatedPolicy (RFC 9111 §4.3.4)', () => {
  const stored = () => new CachePolicy(req, res({ etag: '"a"', 'cache-control': 'max-age=10', 'content-length': '5', 'x-old': '1' }))

  test('a matching 304 updates headers except body-describing ones', () => {
    const r = stored().revalidatedPolicy(req, {
      status: 304,
      headers: { etag: '"a"', 'cache-control': 'max-age=99', 'content-length': '0', 'x-old': '2' }
    })
    assert.equal(r.modified, false)
    assert.equal(r.matches, true)
    assert.equal(r.policy.maxAge(), 99)
    assert.equal(r.policy.status(), 200)
    const h = r.policy.responseHeaders()
    assert.equal(h['content-length'], '5')
    assert.equal(h['x-old'], '2')
    assert.ok(r.policy instanceof CachePolicy)
  })

  test('a non-matching or 200 response replaces the policy', () => {
    const r = stored().revalidatedPolicy(req, { status: 304, headers: { etag: '"b"' } })
    assert.deepEqual([r.modified, r.matches], [false, false])
    const r2 = stored().revalidatedPolicy(req, { status: 200, headers: { etag: '"a"' } })
    assert.deepEqual([r2.modified, r2.matches], [true, false])
    const weak = stored().revalidatedPolicy(req, { status: 304, headers: { etag: 'W/"a"' } })
    assert.equal(weak.matches, true)
  })
})

describe('subclassing and serialization', () => {
  // http-cache-semantics' tests override now(); every time-dependent method must call it.
  test('a subclass now() drives every time-dependent method', () => {
    let calls = 0
    class P extends CachePolicy { now () { calls++; return T0 + 40000 } }
    const p = new P(req, res({ 'cache-control': 'max-age=100' }))
    assert.equal(p.age(), 0)
    calls = 0
    assert.equal(p.timeToLive(), 100000)
    assert.equal(p.stale(), false)
    assert.equal(p.responseHeaders().date, new Date(T0 + 40000).toUTCString())
    assert.ok(calls >= 3)
    const q = P.fromObject(p.toObject())
    assert.ok(q instanceof P)
    assert.equal(q.timeToLive(), 100000)
    const r = p.revalidatedPolicy(req, { status: 304, headers: {} })
    assert.ok(r.policy instanceof P)
  })

  test('fromObject rejects what the package rejects', () => {
    for (const C of [CachePolicy, Peer]) {
      // A falsy object is not a serialization at all: the constructor path runs.
      assert.throws(() => C.fromObject(null), { message: 'Response headers missing' })
      assert.throws(() => C.fromObject({ v: 2 }), { message: 'Invalid serialization' })
    }
    assert.throws(() => CachePolicy.fromObject({ v: 1 }), TypeError)
  })

  // toObject()/fromObject() interoperate with the real package, both ways, through JSON.
  test('interop with http-cache-semantics', () => {
    const C = clocked()
    const PC = clocked(Peer)
    const r = res({ 'cache-control': 'public, max-age=300, stale-while-revalidate=60', vary: 'accept-encoding', etag: '"x"' })
    const ours = new C(req, r)
    const theirs = new PC(req, r)
    assert.deepEqual(ours.toObject(), theirs.toObject())
    C.t = PC.t = T0 + 330000
    const a = PC.fromObject(JSON.parse(JSON.stringify(ours.toObject())))
    const b = C.fromObject(JSON.parse(JSON.stringify(theirs.toObject())))
    assert.ok(b instanceof C)
    for (const m of ['storable', 'timeToLive', 'maxAge', 'age', 'stale', 'useStaleWhileRevalidate', 'responseHeaders']) {
      assert.deepEqual(b[m](), a[m](), m)
      assert.deepEqual(b[m](), ours[m](), m)
    }
    assert.deepEqual(b.evaluateRequest(req), a.evaluateRequest(req))
  })
})

describe('bad input never crashes', () => {
  const run = (C, r, q = req) => {
    try {
      const p = new C(q, r)
      return { v: [p.storable(), p.timeToLive(), p.maxAge(), p.satisfiesWithoutRevalidation(q)] }
    } catch (e) {
      return { e: e.constructor.name }
    }
  }

  test('absurd numbers behave like parseInt in the package', () => {
    for (const cc of ['max-age=99999999999999999999', 'max-age=-5', 'max-age=1.9', 'max-age=', 'max-age',
      'max-age=abc', `max-age=${'9'.repeat(400)}`, 's-maxage=1e3', 'stale-while-revalidate=-100, max-age=5']) {
      const C = clocked()
      const PC = clocked(Peer)
      assert.deepEqual(run(C, res({ 'cache-control': cc })), run(PC, res({ 'cache-control': cc })), cc)
    }
  })

  test('invalid dates and ages', () => {
    for (const h of [{ date: 'x' }, { expires: 'never' }, { 'last-modified': '' }, { age: '-3' }, { age: 'abc' },
      { age: 12 }, { expires: 'Sun, 06 Nov 1994 08:49:37 GMT' }]) {
      assert.deepEqual(run(clocked(), res(h)), run(clocked(Peer), res(h)), JSON.stringify(h))
    }
  })

  test('a 64 KB Cache-Control', () => {
    const big = Array.from({ length: 8000 }, (_, i) => `x${i}=${i}`).join(',') + ', max-age=60'
    assert.equal(big.length > 65536, true)
    assert.deepEqual(run(clocked(), res({ 'cache-control': big })), run(clocked(Peer), res({ 'cache-control': big })))
    assert.deepEqual(run(clocked(), res({ 'cache-control': big })).v.slice(0, 3), [true, 60000, 60])
  })

  // Non-string Cache-Control: the package fails with a TypeError (`trim` of a non-string); so do we.
  test('non-string header values', () => {
    assert.equal(run(CachePolicy, res({ 'cache-control': ['max-age=5'] })).e, 'TypeError')
    assert.equal(run(Peer, res({ 'cache-control': ['max-age=5'] })).e, 'TypeError')
    assert.equal(run(CachePolicy, res({ 'cache-control': 5 })).e, 'TypeError')
    assert.equal(run(CachePolicy, res({ 'cache-control': 'max-age=5' }),
      { headers: { 'cache-control': { a: 1 } } }).e, 'TypeError')
    // Arrays where one value is expected elsewhere: read as their string form.
    assert.deepEqual(run(clocked(), res({ 'cache-control': 'max-age=5', age: ['3'] })),
      run(clocked(Peer), res({ 'cache-control': 'max-age=5', age: ['3'] })))
    assert.deepEqual(run(clocked(), res({ expires: [DATE] })), run(clocked(Peer), res({ expires: [DATE] })))
    const p = new CachePolicy(req, res({ 'cache-control': 'max-age=5', connection: ['x'] }))
    assert.throws(() => p.responseHeaders(), TypeError)
    assert.throws(() => new CachePolicy(req, res({ date: 'a\0b' })), TypeError)
  })
})

describe('memoized parsing', () => {
  // Parsed Date/Last-Modified/Cache-Control values are memoized per string (and
  // the memo is cleared when full): results must not depend on what was seen before.
  test('thousands of distinct values, seen once and again', () => {
    const C = clocked()
    const PC = clocked(Peer)
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i += 7) {
        const r = {
          status: 200,
          headers: {
            date: new Date(T0 - i * 1000).toUTCString(),
            'last-modified': new Date(T0 - 86400000 - i * 60000).toUTCString(),
            'cache-control': i % 3 ? `max-age=${i}` : 'public',
            age: String(i % 50)
          }
        }
        const a = new C(req, r)
        const b = new PC(req, r)
        assert.equal(a.date(), b.date())
        assert.equal(a.maxAge(), b.maxAge())
        assert.equal(a.timeToLive(), b.timeToLive())
      }
    }
  })
})
