'use strict'

const binding = require('../binding.js')

// The JS face of `http::policy`, a drop-in for npm `http-cache-semantics` 4.3.
//
// Crossing design (see docs/cache-policy.md): numbers travel through `io`, a
// Float64Array over memory Rust owns, so most calls take no argument. Header
// strings cross once per distinct value (memoized below as numbers). The
// constructor (and `fromObject`) then makes ONE call, `policyFacts()`, and
// keeps the policy's clock-independent facts (storable, max-age, Age value,
// Date, stale windows) as numbers; each clock-dependent method makes one call
// with them and `this.now()`. Rare exchanges (request Cache-Control, Pragma,
// cargo-cult rewrite) take `policyNew(packed)`, one packed string. The
// caller's objects stay in JS: request matching compares the caller's own
// values, and header objects are assembled here (creating objects from Rust
// costs microseconds, in JS nanoseconds).

// This thread's I/O slots shared with Rust: numbers in and out of every call.
const io = binding.policyIo()

// Slots, flags and op codes as Rust defines them (src/napi/wire.rs).
const { policy: layout } = require('./wire.js')
const {
  shared: IN_SHARED,
  ignoreCargoCult: IN_IGNORE_CARGO_CULT,
  noAuthorization: IN_NO_AUTHORIZATION,
  setCookie: IN_SET_COOKIE,
  varyStar: IN_VARY_STAR,
  cacheControlPresent: IN_CACHE_CONTROL_PRESENT,
  requestNoStore: IN_REQUEST_NO_STORE,
  expiresPresent: IN_EXPIRES_PRESENT,
  datesUnloaded: IN_DATES_UNLOADED
} = layout.inputFlags
const {
  storable: STORABLE,
  mustRevalidate: MUST_REVALIDATE,
  cargoCultRewritten: CARGO_CULT_REWRITTEN,
  needsDates: NEEDS_DATES,
  // Never set by Rust: the Date was not needed yet, date() parses it on demand.
  dateUnknown: DATE_UNKNOWN
} = layout.factFlags
const CC_CARGO_CULT = layout.summaryBits.cargoCult
const {
  age: T_AGE,
  timeToLive: T_TTL,
  stale: T_STALE,
  useStaleWhileRevalidate: T_SWR,
  staleIfError: T_STALE_IF_ERROR,
  warning113: T_WARNING_113
} = layout.timeOps
const { get: M_GET, head: M_HEAD, post: M_POST, other: M_OTHER } = layout.methods
const { miss: REUSE_MISS, fresh: REUSE_FRESH, staleWhileRevalidate: REUSE_SWR } = layout.reuse
// io slots, by call
const X = layout.exchange // policyNew / policyFacts inputs
const F = layout.facts // their outputs: a policy's facts (#f keeps this order)
const T = layout.time // policyTime / policyEvaluate* inputs
const S = layout.summary // policySummary outputs
const D = layout.dates // policyDates outputs
const SD = layout.serverDate // policyServerDate inputs
const FACT_SLOTS = [F.flags, F.maxAge, F.ageValue, F.date, F.staleWhileRevalidate, F.staleIfError]
if (io.length !== layout.ioSlots || F.length !== 6 || FACT_SLOTS.sort().join() !== '0,1,2,3,4,5') {
  // #readFacts copies the first six slots: the facts must be exactly those.
  throw new Error('ferrocache: policyIo() does not match wireLayout()')
}

const DEFAULT_IMMUTABLE_MIN_TTL = 24 * 3600 * 1000

// Same lookup semantics as http-cache-semantics (a plain object).
const excludedFromRevalidationUpdate = {
  'content-length': true,
  'content-encoding': true,
  'transfer-encoding': true,
  'content-range': true
}

const hasOwn = Object.prototype.hasOwnProperty

/** A header value as the rules read it: falsy is absent (''), others as strings. */
function flat (v) {
  if (!v) return ''
  const s = typeof v === 'string' ? v : String(v)
  if (s.includes('\0')) {
    throw new TypeError('header values must not contain NUL characters (RFC 9110 §5.5)')
  }
  return s
}

/** A Cache-Control value: a string, or falsy (no directives). */
function cacheControl (v, which) {
  if (v && typeof v !== 'string') {
    throw new TypeError(`${which} cache-control header must be a string`)
  }
  return v ? flat(v) : ''
}

// Parsed values memoized per distinct string: a Cache-Control value, `rescc`
// entries or a date crosses into Rust once (applications send few distinct
// Cache-Control values; Date and Last-Modified values repeat across responses).
const MEMO_LIMIT = 2048
const ccMemo = new Map()
const dateMemo = new Map()
const numberMemo = new Map()
const NO_DIRECTIVES = [0, 0, 0, 0, 0]

function remember (memo, key, value) {
  if (memo.size >= MEMO_LIMIT) memo.clear()
  memo.set(key, value)
  return value
}

/** A response Cache-Control string as the numbers the rules read (Summary in Rust). */
function summary (cc) {
  const hit = ccMemo.get(cc)
  if (hit !== undefined) return hit
  binding.policySummary(flat(cc))
  return remember(ccMemo, cc, [io[S.bits], io[S.maxAge], io[S.sMaxage], io[S.staleWhileRevalidate], io[S.staleIfError]])
}

/** `toNumberOrZero(v)` of a directive or header value, via Rust, memoized. */
function numberOrZero (v) {
  if (v === undefined) return 0
  const s = typeof v === 'string' ? v : String(v)
  const hit = numberMemo.get(s)
  if (hit !== undefined) return hit
  return remember(numberMemo, s, binding.policyNumberOrZero(s))
}

// Summary bits of truthy directives (src/http/cache_control.rs Summary).
const B = layout.summaryBits
const SUMMARY_BITS = [
  ['public', B.public], ['private', B.private], ['no-store', B.noStore], ['no-cache', B.noCache],
  ['max-age', B.maxAge], ['s-maxage', B.sMaxage], ['must-revalidate', B.mustRevalidate],
  ['proxy-revalidate', B.proxyRevalidate], ['immutable', B.immutable]
]

/**
 * A deserialized `rescc` object as the same numbers: the JS values'
 * truthiness (what the serialized format means) and their numbers by Rust.
 */
function objectSummary (cc) {
  let bits = 0
  for (let i = 0; i < SUMMARY_BITS.length; i++) {
    if (cc[SUMMARY_BITS[i][0]]) bits |= SUMMARY_BITS[i][1]
  }
  return [bits, numberOrZero(cc['max-age']), numberOrZero(cc['s-maxage']),
    numberOrZero(cc['stale-while-revalidate']), numberOrZero(cc['stale-if-error'])]
}

/** A date header value as a string, '' when absent (falsy). */
function dateString (v) {
  return !v ? '' : typeof v === 'string' ? v : String(v)
}

/**
 * Expires, Date and Last-Modified in ms (NaN when absent or not an HTTP-date),
 * written to their exchange slots. Values not seen before cross into Rust together.
 */
function loadDates (rh) {
  const e = dateString(rh.expires)
  const d = dateString(rh.date)
  const l = dateString(rh['last-modified'])
  let expires = e === '' ? NaN : dateMemo.get(e)
  let date = d === '' ? NaN : dateMemo.get(d)
  let lastModified = l === '' ? NaN : dateMemo.get(l)
  if (expires === undefined || date === undefined || lastModified === undefined) {
    binding.policyDates(flat(e) + '\0' + flat(d) + '\0' + flat(l))
    expires = io[D.expires]
    date = io[D.date]
    lastModified = io[D.lastModified]
    if (e !== '') remember(dateMemo, e, expires)
    if (d !== '') remember(dateMemo, d, date)
    if (l !== '') remember(dateMemo, l, lastModified)
  }
  io[X.expires] = expires
  io[X.date] = date
  io[X.lastModified] = lastModified
}

/** The Age header's seconds. */
function ageValue (v) {
  return v ? numberOrZero(flat(v)) : 0
}

function methodCode (m) {
  return m === 'GET' ? M_GET : m === 'HEAD' ? M_HEAD : m === 'POST' ? M_POST : M_OTHER
}

function assertRequestHasHeaders (req) {
  if (!req || !req.headers) {
    throw Error('Request headers missing')
  }
}

/** Directive entries from Rust (`k` / `k=v`, each NUL-terminated) as http-cache-semantics' object. */
function directivesObject (entries) {
  const cc = {}
  let start = 0
  while (start < entries.length) {
    const end = entries.indexOf('\0', start)
    const eq = entries.indexOf('=', start)
    if (eq === -1 || eq > end) {
      cc[entries.slice(start, end)] = true
    } else {
      cc[entries.slice(start, eq)] = entries.slice(eq + 1, end)
    }
    start = end + 1
  }
  return cc
}

// RFC 9110 §7.6.1 hop-by-hop fields (and `date`), as the Rust core lists them.
const HOP_BY_HOP = new Set(binding.policyHopByHop().split(','))

/**
 * A numeric option as given (it is coerced with `+` where used, as
 * http-cache-semantics does), except what `+` cannot coerce (a Symbol, a
 * BigInt, an object with no valueOf/toString): a TypeError naming the option
 * instead of V8's "Cannot convert".
 */
function numeric (v, name) {
  if (typeof v === 'symbol' || typeof v === 'bigint' ||
      (typeof v === 'object' && v !== null && typeof v[Symbol.toPrimitive] !== 'function' &&
       typeof v.valueOf !== 'function' && typeof v.toString !== 'function')) {
    throw new TypeError(`CachePolicy ${name} must be a number, got ${typeof v}`)
  }
  return v
}

/**
 * A copy of `src` without hop-by-hop fields, Connection-listed fields and 1xx
 * warnings. Built in one pass (no `delete`), so the copy stays a fast object.
 */
function copyWithoutHopByHop (src) {
  const connection = src.connection
  let listed = null
  if (connection) {
    if (typeof connection !== 'string') throw new TypeError('connection header must be a string')
    listed = new Set(binding.policyConnectionTokens(connection).split('\0'))
  }
  // 1xx warnings are dropped from a kept, truthy Warning.
  const warning = src.warning
  let keptWarning
  if (warning && !(listed !== null && listed.has('warning'))) {
    if (typeof warning !== 'string') throw new TypeError('warning header must be a string')
    keptWarning = binding.policyDrop1XxWarnings(warning)
  }
  const headers = {}
  for (const name in src) {
    if (HOP_BY_HOP.has(name) || (listed !== null && listed.has(name))) continue
    if (keptWarning !== undefined && name === 'warning') {
      if (keptWarning !== null) headers.warning = keptWarning
      continue
    }
    headers[name] = src[name]
  }
  return headers
}

// `Date` values change once a second; format each second once.
let lastSecond = NaN
let lastDate = ''
function httpDate (ms) {
  const second = Math.floor(Math.trunc(ms) / 1000)
  if (second !== lastSecond) {
    lastDate = new Date(ms).toUTCString()
    lastSecond = second
  }
  return lastDate
}

function isErrorResponse (response) {
  if (!response) return true
  return typeof response.status === 'number' && binding.policyIsErrorStatus(response.status)
}

function truthyString (v) {
  return v ? String(v) : undefined
}

class CachePolicy {
  // What http-cache-semantics serializes (toObject field in comments).
  #responseTime // t
  #shared // sh
  #cacheHeuristic // ch
  #immutableMinTtl // imm
  #ignoreCargoCult // icc
  #status // st
  #resHeaders // resh
  #resDirectives // rescc (built on demand from the raw values below)
  #method // m
  #url // u
  #host // h
  #noAuthorization // a
  #reqHeaders // reqh
  #reqDirectives // reqcc (built on demand)
  #resCacheControl // raw response Cache-Control, undefined if absent
  #resPragma
  #reqCacheControl
  // Facts from Rust: [flags, maxAge, ageValue, date, staleWhileRevalidate,
  // staleIfError]. One array of doubles: six double-valued fields would each
  // box their number (measured ~170 ns per construction).
  #f
  // JS-side memos.
  #varyFields
  #template
  #ageKept = false

  /**
   * @param {{url?: string, method?: string, headers: Record<string, string>}} req
   * @param {{status?: number, headers: Record<string, string>}} res
   */
  constructor (
    req,
    res,
    {
      shared,
      cacheHeuristic,
      immutableMinTimeToLive,
      ignoreCargoCult,
      _fromObject
    } = {}
  ) {
    if (_fromObject) {
      this.#restore(_fromObject)
      return
    }
    if (!res || !res.headers) {
      throw Error('Response headers missing')
    }
    assertRequestHasHeaders(req)

    this.#responseTime = this.now()
    this.#shared = shared !== false
    this.#ignoreCargoCult = !!ignoreCargoCult
    this.#cacheHeuristic = undefined !== cacheHeuristic ? numeric(cacheHeuristic, 'options.cacheHeuristic') : 0.1
    this.#immutableMinTtl = undefined !== immutableMinTimeToLive
      ? numeric(immutableMinTimeToLive, 'options.immutableMinTimeToLive')
      : DEFAULT_IMMUTABLE_MIN_TTL
    this.#status = 'status' in res ? res.status : 200
    const rh = res.headers
    this.#resHeaders = rh
    this.#method = 'method' in req ? req.method : 'GET'
    this.#url = req.url
    const qh = req.headers
    this.#host = qh.host
    this.#noAuthorization = !qh.authorization
    this.#reqHeaders = rh.vary ? qh : null

    let flags = 0
    if (this.#shared) flags |= IN_SHARED
    if (this.#ignoreCargoCult) flags |= IN_IGNORE_CARGO_CULT
    if (this.#noAuthorization) flags |= IN_NO_AUTHORIZATION
    if (rh['set-cookie']) flags |= IN_SET_COOKIE
    if (rh.vary === '*') flags |= IN_VARY_STAR

    const cc = rh['cache-control']
    // Fast path: no request Cache-Control, no effective Pragma, Cache-Control a
    // string or absent, no cargo-cult rewrite: every header as memoized numbers.
    if ((cc == null || typeof cc === 'string') && !qh['cache-control'] && (cc != null || !rh.pragma)) {
      const directives = cc ? summary(cc) : NO_DIRECTIVES
      if (!(this.#ignoreCargoCult && (directives[0] & CC_CARGO_CULT))) {
        this.#resCacheControl = cc == null ? undefined : cc
        this.#resPragma = ''
        this.#reqCacheControl = ''
        this.#facts(flags, directives, rh, false)
        return
      }
    }
    this.#general(rh, qh, flags)
  }

  /** Status, method, flags and options into their exchange slots. */
  #loadHead (flags) {
    const status = this.#status
    io[X.status] = typeof status === 'number' ? status : NaN
    io[X.method] = methodCode(this.#method)
    io[X.flags] = flags
    io[X.cacheHeuristic] = +this.#cacheHeuristic
    io[X.immutableMinTtl] = +this.#immutableMinTtl
    io[X.responseTime] = +this.#responseTime
  }

  /**
   * Facts from memoized numbers (policyFacts). Dates are parsed only if the
   * freshness lifetime depends on them (Rust says so); date() loads them later.
   */
  #facts (flags, directives, rh, requestNoStore) {
    if (rh.expires) flags |= IN_EXPIRES_PRESENT
    if (requestNoStore) flags |= IN_REQUEST_NO_STORE
    const age = ageValue(rh.age)
    this.#loadFactInputs(flags | IN_DATES_UNLOADED, directives, age)
    binding.policyFacts()
    if (io[F.flags] === NEEDS_DATES) {
      loadDates(rh)
      this.#loadFactInputs(flags, directives, age)
      binding.policyFacts()
      this.#readFacts()
    } else {
      this.#readFacts()
      this.#f[F.flags] += DATE_UNKNOWN
    }
  }

  /** The exchange slots for policyFacts but the dates (loadDates'). */
  #loadFactInputs (flags, directives, age) {
    this.#loadHead(flags)
    io[X.ccBits] = directives[S.bits]
    io[X.maxAge] = directives[S.maxAge]
    io[X.sMaxage] = directives[S.sMaxage]
    io[X.staleWhileRevalidate] = directives[S.staleWhileRevalidate]
    io[X.staleIfError] = directives[S.staleIfError]
    io[X.age] = age
  }

  /** Every other exchange: the raw header strings, packed, parsed by Rust. */
  #general (rh, qh, flags) {
    const cc = rh['cache-control']
    const resCc = cacheControl(cc, 'Response')
    const reqCc = cacheControl(qh['cache-control'], 'Request')
    const pragma = cc == null ? flat(rh.pragma) : ''
    this.#resCacheControl = cc == null ? undefined : resCc
    this.#resPragma = pragma
    this.#reqCacheControl = reqCc
    if (cc != null) flags |= IN_CACHE_CONTROL_PRESENT
    const packed = flat(rh.expires) + '\0' + flat(rh.date) + '\0' + flat(rh['last-modified']) + '\0' +
      flat(rh.age) + '\0' + pragma + '\0' + reqCc + '\0' + resCc
    this.#loadHead(flags)
    const rewritten = binding.policyNew(packed)
    this.#readFacts()
    if (this.#f[F.flags] & CARGO_CULT_REWRITTEN) {
      // ignoreCargoCult: the stored headers carry the rewritten directives.
      const h = Object.assign({}, rh, { 'cache-control': rewritten ?? undefined })
      delete h.expires
      delete h.pragma
      this.#resHeaders = h
    }
  }

  #readFacts () {
    // The facts slots as they are (F indexes both; checked at load).
    this.#f = [io[0], io[1], io[2], io[3], io[4], io[5]]
  }

  #restore (obj) {
    if (!obj || obj.v !== 1) throw Error('Invalid serialization')
    const { resh, rescc, reqcc } = obj
    if (!resh || typeof resh !== 'object' || !rescc || typeof rescc !== 'object' ||
        !reqcc || typeof reqcc !== 'object') {
      throw new TypeError('Invalid serialization: resh, rescc and reqcc must be objects')
    }
    this.#responseTime = numeric(obj.t, 'serialization t')
    this.#shared = obj.sh
    this.#cacheHeuristic = numeric(obj.ch, 'serialization ch')
    this.#immutableMinTtl = obj.imm !== undefined ? numeric(obj.imm, 'serialization imm') : DEFAULT_IMMUTABLE_MIN_TTL
    this.#ignoreCargoCult = !!obj.icc
    this.#status = obj.st
    this.#resHeaders = resh
    this.#resDirectives = rescc
    this.#method = obj.m
    this.#url = obj.u
    this.#host = obj.h
    this.#noAuthorization = obj.a
    this.#reqHeaders = obj.reqh
    this.#reqDirectives = reqcc

    let flags = 0
    if (obj.sh) flags |= IN_SHARED
    if (obj.a) flags |= IN_NO_AUTHORIZATION
    if (resh['set-cookie']) flags |= IN_SET_COOKIE
    if (resh.vary === '*') flags |= IN_VARY_STAR
    this.#facts(flags, objectSummary(rescc), resh, !!reqcc['no-store'])
  }

  /** The current time in ms; override it (e.g. in a subclass) to control the clock. */
  now () {
    return Date.now()
  }

  /**
   * When the response was received (ms), as the package's `_responseTime` field:
   * http-cache-semantics' own tests pin `now()` to it. Read-only.
   */
  get _responseTime () {
    return this.#responseTime
  }

  /** Puts this policy's facts and `now` into the I/O slots (policyTime layout). */
  #load (op, now) {
    const f = this.#f
    io[T.op] = op
    io[T.flags] = f[F.flags]
    io[T.maxAge] = f[F.maxAge]
    io[T.ageValue] = f[F.ageValue]
    io[T.responseTime] = this.#responseTime
    io[T.staleWhileRevalidate] = f[F.staleWhileRevalidate]
    io[T.staleIfError] = f[F.staleIfError]
    io[T.now] = now
  }

  #time (op) {
    this.#load(op, this.now())
    return binding.policyTime()
  }

  /** `false` if the response can never be cached. */
  storable () {
    return (this.#f[F.flags] & STORABLE) !== 0
  }

  // RFC 9111 §4: the presented request's URI, host, method and Vary'd fields match.
  #requestMatches (req, allowHeadMethod) {
    const h = req.headers
    if (this.#url && this.#url !== req.url) return false
    if (this.#host !== h.host) return false
    const m = req.method
    if (m && this.#method !== m && !(allowHeadMethod && m === 'HEAD')) return false
    return this.#varyMatches(h)
  }

  // RFC 9111 §4.1: selecting header fields nominated by Vary match (`*` never does).
  #varyMatches (h) {
    const vary = this.#resHeaders.vary
    if (!vary) return true
    let fields = this.#varyFields
    if (fields === undefined) {
      fields = this.#varyFields = vary.indexOf(',') === -1
        ? [vary.trim().toLowerCase()]
        : vary.trim().toLowerCase().split(/\s*,\s*/)
    }
    const stored = this.#reqHeaders
    for (let i = 0; i < fields.length; i++) {
      const name = fields[i]
      if (name === '*') return false
      const a = hasOwn.call(h, name) && h[name]
      const b = hasOwn.call(stored, name) && stored[name]
      if (a !== b) return false
    }
    return true
  }

  /** REUSE_MISS: revalidate first, REUSE_FRESH: serve, REUSE_SWR: serve stale while revalidating. */
  #reuse (req) {
    // must-revalidate first: a non-matching request is then not even inspected.
    if (this.#f[F.flags] & MUST_REVALIDATE) return REUSE_MISS
    const matches = this.#requestMatches(req, false)
    if (!matches) return REUSE_MISS
    const h = req.headers
    const cc = cacheControl(h['cache-control'], 'Request')
    const pragma = h.pragma
    this.#load(0, this.now())
    if (!cc && pragma === undefined) return binding.policyEvaluatePlain()
    return binding.policyEvaluate(cc || undefined, pragma === undefined ? undefined : String(pragma))
  }

  /** Whether the cached response can serve `req` now without asking the server. */
  satisfiesWithoutRevalidation (req) {
    assertRequestHasHeaders(req)
    return this.#reuse(req) === REUSE_FRESH
  }

  /**
   * How the cache can be used for `req`: `response` (headers to serve) if it
   * can, `revalidation` (headers for the server, `synchronous`) if it must ask.
   */
  evaluateRequest (req) {
    assertRequestHasHeaders(req)
    const reuse = this.#reuse(req)
    if (reuse === REUSE_MISS) {
      return {
        response: undefined,
        revalidation: { synchronous: true, headers: this.revalidationHeaders(req) }
      }
    }
    const revalidation = reuse === REUSE_SWR
      ? { synchronous: false, headers: this.revalidationHeaders(req) }
      : undefined
    return {
      response: { headers: this.responseHeaders(), status: this.#status },
      revalidation
    }
  }

  /** The stored headers to serve: hop-by-hop fields removed, Age and Date updated. */
  responseHeaders () {
    let template = this.#template
    if (template === undefined) {
      template = copyWithoutHopByHop(this.#resHeaders)
      // Slots for Age and Date, so filling them does not change the clone's shape.
      this.#ageKept = 'age' in template
      if (!this.#ageKept) template.age = undefined
      template.date = undefined
      this.#template = template
    }
    const headers = { ...template }
    const now = this.now()
    this.#load(T_AGE, now)
    const age = binding.policyTime()
    // RFC 7234 §5.5.4: Warning 113 for heuristic lifetimes over 24 h once older than 24 h.
    if (age > 86400 && (io[T.op] = T_WARNING_113, binding.policyTime())) {
      const value = (headers.warning ? `${headers.warning}, ` : '') + '113 - "rfc7234 5.5.4"'
      if ('warning' in headers) {
        headers.warning = value
      } else {
        // Keep http-cache-semantics' key order: warning goes before the appended fields.
        const ordered = {}
        const before = this.#ageKept ? 'date' : 'age'
        for (const k in headers) {
          if (k === before) ordered.warning = value
          ordered[k] = headers[k]
        }
        ordered.age = `${Math.round(age)}`
        ordered.date = httpDate(now)
        return ordered
      }
    }
    headers.age = `${Math.round(age)}`
    headers.date = httpDate(now)
    return headers
  }

  /** The response status code. */
  status () {
    return this.#status
  }

  /** The Date header in ms, or the time the response was received. */
  date () {
    const f = this.#f
    if (f[F.flags] & DATE_UNKNOWN) {
      loadDates(this.#resHeaders)
      io[SD.date] = io[X.date]
      io[SD.responseTime] = +this.#responseTime
      f[F.date] = binding.policyServerDate()
      f[F.flags] -= DATE_UNKNOWN
    }
    return f[F.date]
  }

  /** Age in seconds, updated for the current time (may be fractional). */
  age () {
    return this.#time(T_AGE)
  }

  /** Freshness lifetime in seconds, counted from the response's Date. */
  maxAge () {
    return this.#f[F.maxAge]
  }

  /** Ms this entry may still be useful, including stale-while-revalidate/stale-if-error. */
  timeToLive () {
    return this.#time(T_TTL)
  }

  /** Past its freshness lifetime (stale may still be usable, see evaluateRequest). */
  stale () {
    return this.#time(T_STALE) === 1
  }

  /** Whether stale-while-revalidate currently allows serving stale. */
  useStaleWhileRevalidate () {
    return this.#time(T_SWR) === 1
  }

  static fromObject (obj) {
    return new this(undefined, undefined, { _fromObject: obj })
  }

  /** A JSON-able object http-cache-semantics' `fromObject()` reads (and vice versa). */
  toObject () {
    if (this.#resDirectives === undefined) {
      this.#resDirectives = directivesObject(binding.policyDirectives(
        this.#resCacheControl, this.#resPragma, this.#ignoreCargoCult))
    }
    if (this.#reqDirectives === undefined) {
      this.#reqDirectives = directivesObject(binding.policyDirectives(
        this.#reqCacheControl, undefined, false))
    }
    return {
      v: 1,
      t: this.#responseTime,
      sh: this.#shared,
      ch: this.#cacheHeuristic,
      imm: this.#immutableMinTtl,
      icc: this.#ignoreCargoCult,
      st: this.#status,
      resh: this.#resHeaders,
      rescc: this.#resDirectives,
      m: this.#method,
      u: this.#url,
      h: this.#host,
      a: this.#noAuthorization,
      reqh: this.#reqHeaders,
      reqcc: this.#reqDirectives
    }
  }

  /** Headers for a request revalidating the stored response (If-None-Match / If-Modified-Since). */
  revalidationHeaders (incomingReq) {
    assertRequestHasHeaders(incomingReq)
    const headers = copyWithoutHopByHop(incomingReq.headers)
    // No range support.
    delete headers['if-range']

    if (!this.#requestMatches(incomingReq, true) || !this.storable()) {
      delete headers['if-none-match']
      delete headers['if-modified-since']
      return headers
    }

    // RFC 9111 §4.3.1: send the stored entity-tag in If-None-Match.
    const etag = this.#resHeaders.etag
    if (etag) {
      headers['if-none-match'] = headers['if-none-match']
        ? `${headers['if-none-match']}, ${etag}`
        : etag
    }

    // RFC 9110 §8.8.1: weak validators only in simple (non-subrange) GETs.
    const forbidsWeakValidators = headers['accept-ranges'] || headers['if-match'] ||
      headers['if-unmodified-since'] || (this.#method && this.#method != 'GET') // eslint-disable-line eqeqeq

    if (forbidsWeakValidators) {
      delete headers['if-modified-since']
      const inm = headers['if-none-match']
      if (inm) {
        if (typeof inm !== 'string') throw new TypeError('if-none-match header must be a string')
        const strong = binding.policyDropWeakEtags(inm)
        if (strong == null) delete headers['if-none-match']
        else headers['if-none-match'] = strong
      }
    } else if (this.#resHeaders['last-modified'] && !headers['if-modified-since']) {
      // RFC 9111 §4.3.1: send Last-Modified in If-Modified-Since.
      headers['if-modified-since'] = this.#resHeaders['last-modified']
    }
    return headers
  }

  /**
   * A policy combining the stored response with a revalidation response:
   * `{ policy, modified, matches }`.
   */
  revalidatedPolicy (request, response) {
    assertRequestHasHeaders(request)
    // RFC 5861 §4: stale-if-error keeps serving the stored response on server errors.
    if (this.#time(T_STALE_IF_ERROR) === 1 && isErrorResponse(response)) {
      return { policy: this, modified: false, matches: true }
    }
    if (!response || !response.headers) {
      throw Error('Response headers missing')
    }
    const rh = response.headers
    const stored = this.#resHeaders
    const matches = binding.policyRevalidationMatches(
      response.status === undefined || response.status == 304, // eslint-disable-line eqeqeq
      truthyString(stored.etag),
      truthyString(stored['last-modified']),
      truthyString(rh.etag),
      typeof rh['last-modified'] === 'string' ? rh['last-modified'] : undefined
    )
    const optionsCopy = {
      shared: this.#shared,
      cacheHeuristic: this.#cacheHeuristic,
      immutableMinTimeToLive: this.#immutableMinTtl,
      ignoreCargoCult: this.#ignoreCargoCult
    }
    if (!matches) {
      return {
        policy: new this.constructor(request, response, optionsCopy),
        // A 304 without a matching stored response still has no new body.
        modified: response.status != 304, // eslint-disable-line eqeqeq
        matches: false
      }
    }
    // RFC 9111 §4.3.4: the 304's fields replace the stored ones (not body-describing ones).
    const headers = {}
    for (const k in stored) {
      headers[k] = k in rh && !excludedFromRevalidationUpdate[k] ? rh[k] : stored[k]
    }
    const newResponse = Object.assign({}, response, {
      status: this.#status,
      method: this.#method,
      headers
    })
    return {
      policy: new this.constructor(request, newResponse, optionsCopy),
      modified: false,
      matches: true
    }
  }
}

module.exports = { CachePolicy }
