'use strict'

// The JS side of `http::stored_response` (src/napi/interceptor.rs): the
// RFC 9111 decisions of the cache interceptor are made in Rust; this file
// only moves numbers through the shared I/O slots and memoizes the parse of
// each distinct Cache-Control / Vary value (a hit then crosses once, with
// numbers only).

const binding = require('../binding.js')

const io = binding.policyIo()

// Slots, flags and result codes as Rust defines them (src/napi/wire.rs).
const { interceptor: layout } = require('./wire.js')
const {
  bits: D_BITS,
  maxAge: D_MAX_AGE,
  sMaxage: D_S_MAXAGE,
  staleWhileRevalidate: D_SWR,
  staleIfError: D_SIE,
  minFresh: D_MIN_FRESH,
  maxStale: D_MAX_STALE
} = layout.directives // interceptorDirectives outputs
const {
  status: A_STATUS,
  flags: A_FLAGS,
  requestBits: A_REQUEST_BITS,
  responseBits: A_RESPONSE_BITS,
  maxAge: A_MAX_AGE,
  sMaxage: A_S_MAXAGE,
  staleWhileRevalidate: A_SWR,
  staleIfError: A_SIE,
  cacheByDefault: A_CACHE_BY_DEFAULT,
  requestTime: A_REQUEST_TIME,
  responseTime: A_RESPONSE_TIME
} = layout.arrive // interceptorArrive inputs
const {
  storable: AR_STORABLE,
  lifetime: AR_LIFETIME,
  initialAge: AR_INITIAL_AGE
} = layout.arrival // interceptorArrive outputs
const {
  flags: P_FLAGS,
  responseBits: P_RESPONSE_BITS,
  responseStaleWhileRevalidate: P_RESPONSE_SWR,
  responseStaleIfError: P_RESPONSE_SIE,
  requestBits: P_REQUEST_BITS,
  requestMaxAge: P_REQUEST_MAX_AGE,
  requestMinFresh: P_REQUEST_MIN_FRESH,
  requestMaxStale: P_REQUEST_MAX_STALE,
  requestStaleIfError: P_REQUEST_SIE,
  lifetime: P_LIFETIME,
  age: P_AGE
} = layout.presentation // interceptorUse inputs
const {
  methodCacheable: F_METHOD_CACHEABLE,
  shared: F_SHARED,
  authorization: F_AUTHORIZATION,
  varyStar: F_VARY_STAR,
  hasValidator: F_HAS_VALIDATOR,
  expiresPresent: F_EXPIRES_PRESENT,
  pragmaNoCache: F_PRAGMA_NO_CACHE,
  setCookieKept: F_SET_COOKIE_KEPT
} = layout.flags // bits of A_FLAGS and P_FLAGS
const {
  revalidate: USE_REVALIDATE,
  serve: USE_SERVE,
  serveStaleAndRevalidate: USE_SERVE_STALE_AND_REVALIDATE,
  gatewayTimeout: USE_GATEWAY_TIMEOUT,
  staleIfError: USE_STALE_IF_ERROR
} = layout.uses // interceptorUse results

/**
 * Directive bits (`NO_STORE`, `MAX_AGE_INVALID`, …) and `USE_STALE_IF_ERROR`,
 * as Rust defines them: `layout.directiveBits` under upper-snake names.
 */
const C = Object.freeze({
  ...Object.fromEntries(Object.entries(layout.directiveBits)
    .map(([name, bit]) => [name.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase(), bit])),
  USE_STALE_IF_ERROR
})

const [NOT_STORED_LIST, KEPT_ON_UPDATE_LIST] = binding.interceptorFieldRules().split('\0')
/** RFC 9111 §3.1: fields never stored. */
const NOT_STORED = new Set(NOT_STORED_LIST.split(','))
/** RFC 9111 §3.2: fields a 304 does not update (besides NOT_STORED). */
const KEPT_ON_UPDATE = new Set(KEPT_ON_UPDATE_LIST.split(','))

const MEMO_LIMIT = 4096
const directivesMemo = new Map()
const varyMemo = new Map()

function remember (memo, key, value) {
  if (memo.size >= MEMO_LIMIT) memo.clear()
  memo.set(key, value)
  return value
}

/**
 * A Cache-Control field value (string or array of field lines) as
 * `{ bits, maxAge, sMaxAge, swr, sie, minFresh, maxStale, noCacheFields, privateFields }`.
 */
const NO_DIRECTIVES = Object.freeze({
  bits: 0,
  maxAge: NaN,
  sMaxAge: NaN,
  swr: NaN,
  sie: NaN,
  minFresh: NaN,
  maxStale: NaN,
  noCacheFields: null,
  privateFields: null
})

function fieldValue (v) {
  if (v == null) return ''
  if (Array.isArray(v)) return v.map(String).join(', ')
  return String(v)
}

function directives (value) {
  const s = fieldValue(value)
  if (s === '') return NO_DIRECTIVES
  const hit = directivesMemo.get(s)
  if (hit !== undefined) return hit
  // A NUL cannot cross as a field value; such a header is malformed anyway.
  const fields = binding.interceptorDirectives(s.replaceAll('\0', ' '))
  let noCacheFields = null
  let privateFields = null
  if (fields !== null) {
    const [n, p] = fields.split('\0')
    noCacheFields = n ? n.split(',') : null
    privateFields = p ? p.split(',') : null
  }
  return remember(directivesMemo, s, Object.freeze({
    bits: io[D_BITS],
    maxAge: io[D_MAX_AGE],
    sMaxAge: io[D_S_MAXAGE],
    swr: io[D_SWR],
    sie: io[D_SIE],
    minFresh: io[D_MIN_FRESH],
    maxStale: io[D_MAX_STALE],
    noCacheFields,
    privateFields
  }))
}

/**
 * The Vary field names of a response (lower-cased), `['*']` for a wildcard,
 * `null` when malformed, `[]` when absent.
 */
function varyFields (value) {
  const s = fieldValue(value)
  if (s === '') return []
  const hit = varyMemo.get(s)
  if (hit !== undefined) return hit
  const list = binding.interceptorVaryFields(s.replaceAll('\0', ' '))
  return remember(varyMemo, s, list === null ? null : list === '' ? [] : Object.freeze(list.split(',')))
}

/** A header value Rust reads as an optional string: a string, or undefined for anything else. */
function maybeString (v) {
  return typeof v === 'string' ? v : undefined
}

function str (v) {
  if (v == null) return ''
  if (Array.isArray(v)) return v.length === 0 ? '' : String(v[0])
  return String(v).replaceAll('\0', ' ')
}

/**
 * RFC 9111 §3, §4.2: storage decision for a response arriving from the origin.
 * @returns {{ storable: boolean, lifetime: number, initialAge: number }}
 */
function arrive ({ status, methodCacheable, shared, authorization, requestDirectives, responseDirectives, headers, varyStar, cacheByDefault, requestTime, responseTime }) {
  let flags = 0
  if (methodCacheable) flags |= F_METHOD_CACHEABLE
  if (shared) flags |= F_SHARED
  if (authorization) flags |= F_AUTHORIZATION
  if (varyStar) flags |= F_VARY_STAR
  if (hasValidator(headers)) flags |= F_HAS_VALIDATOR
  if (headers.expires !== undefined) flags |= F_EXPIRES_PRESENT
  if (headers['set-cookie'] !== undefined && !namesField(responseDirectives, 'set-cookie')) flags |= F_SET_COOKIE_KEPT
  io[A_STATUS] = status
  io[A_FLAGS] = flags
  io[A_REQUEST_BITS] = requestDirectives.bits
  io[A_RESPONSE_BITS] = responseDirectives.bits
  io[A_MAX_AGE] = responseDirectives.maxAge
  io[A_S_MAXAGE] = responseDirectives.sMaxAge
  io[A_SWR] = responseDirectives.swr
  io[A_SIE] = responseDirectives.sie
  io[A_CACHE_BY_DEFAULT] = cacheByDefault === undefined ? NaN : cacheByDefault
  io[A_REQUEST_TIME] = requestTime
  io[A_RESPONSE_TIME] = responseTime
  binding.interceptorArrive(str(headers.expires) + '\0' + str(headers.date) + '\0' +
    str(headers['last-modified']) + '\0' + (headers.age === undefined ? '' : fieldValue(headers.age).replaceAll('\0', ' ')))
  return { storable: io[AR_STORABLE] === 1, lifetime: io[AR_LIFETIME], initialAge: io[AR_INITIAL_AGE] }
}

/**
 * RFC 9111 §4, §5.2.1, RFC 5861: how a stored response may serve a request.
 * @returns {number} a USE_* code, plus C.USE_STALE_IF_ERROR when a failed revalidation may serve it
 */
function use (shared, responseDirectives, requestDirectives, pragmaNoCache, lifetime, age) {
  let flags = 0
  if (shared) flags |= F_SHARED
  if (pragmaNoCache) flags |= F_PRAGMA_NO_CACHE
  io[P_FLAGS] = flags
  io[P_RESPONSE_BITS] = responseDirectives.bits
  io[P_RESPONSE_SWR] = responseDirectives.swr
  io[P_RESPONSE_SIE] = responseDirectives.sie
  io[P_REQUEST_BITS] = requestDirectives.bits
  io[P_REQUEST_MAX_AGE] = requestDirectives.maxAge
  io[P_REQUEST_MIN_FRESH] = requestDirectives.minFresh
  io[P_REQUEST_MAX_STALE] = requestDirectives.maxStale
  io[P_REQUEST_SIE] = requestDirectives.sie
  io[P_LIFETIME] = lifetime
  io[P_AGE] = age
  return binding.interceptorUse()
}

/** Whether `no-cache="…"` or `private="…"` names the field (so it is not stored). */
function namesField (d, name) {
  return (d.noCacheFields !== null && d.noCacheFields.includes(name)) ||
    (d.privateFields !== null && d.privateFields.includes(name))
}

function hasValidator (headers) {
  return typeof headers.etag === 'string' || typeof headers['last-modified'] === 'string'
}

/**
 * RFC 9111 §4.3.4: whether a 304 selects the stored response (validators compared in Rust).
 */
function notModifiedMatches (stored, fresh) {
  return binding.interceptorNotModifiedSelects(maybeString(stored.etag), maybeString(stored['last-modified']),
    maybeString(fresh.etag), maybeString(fresh['last-modified']))
}

/**
 * RFC 9110 §14: the byte range a GET's Range gets from a stored complete 200 of
 * `length` bytes (If-Range checked against its validators): `[]` the whole
 * response, `[first, last]` a 206, `[-1]` a 416 (decided in Rust).
 */
function byteRange (range, ifRange, length, stored) {
  return binding.interceptorRange(String(range), length, maybeString(ifRange), maybeString(stored.etag),
    maybeString(stored['last-modified']), maybeString(stored.date))
}

/**
 * RFC 9111 §4.3.5: whether a HEAD's 200 (`head` fields) updates the stored GET
 * (`stored` fields; `storedLength` its body length when it has no Content-Length).
 */
function headUpdates (stored, storedLength, head) {
  const cl = maybeString(stored['content-length']) ?? (Number.isFinite(storedLength) ? String(storedLength) : undefined)
  return binding.interceptorHeadUpdates(maybeString(stored.etag), maybeString(stored['last-modified']), cl,
    maybeString(head.etag), maybeString(head['last-modified']), maybeString(head['content-length']))
}

module.exports = {
  C,
  byteRange,
  headUpdates,
  NOT_STORED,
  KEPT_ON_UPDATE,
  NO_DIRECTIVES,
  directives,
  varyFields,
  arrive,
  use,
  notModifiedMatches,
  USE_REVALIDATE,
  USE_SERVE,
  USE_SERVE_STALE_AND_REVALIDATE,
  USE_GATEWAY_TIMEOUT
}
