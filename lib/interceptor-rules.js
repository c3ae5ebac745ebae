'use strict'

// The JS side of `http::stored_response` (src/napi/interceptor.rs): the
// RFC 9111 decisions of the cache interceptor are made in Rust; this file
// only moves numbers through the shared I/O slots and memoizes the parse of
// each distinct Cache-Control / Vary value (a hit then crosses once, with
// numbers only).

const binding = require('../binding.js')

const io = binding.policyIo()

/** Directive bits and io flags, as Rust defines them. */
const C = Object.fromEntries(binding.interceptorConstants().split(',').map((kv) => {
  const [k, v] = kv.split('=')
  return [k, Number(v)]
}))

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
    bits: io[0],
    maxAge: io[1],
    sMaxAge: io[2],
    swr: io[3],
    sie: io[4],
    minFresh: io[5],
    maxStale: io[6],
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
  if (methodCacheable) flags |= C.F_METHOD_CACHEABLE
  if (shared) flags |= C.F_SHARED
  if (authorization) flags |= C.F_AUTHORIZATION
  if (varyStar) flags |= C.F_VARY_STAR
  if (hasValidator(headers)) flags |= C.F_HAS_VALIDATOR
  if (headers.expires !== undefined) flags |= C.F_EXPIRES_PRESENT
  if (headers['set-cookie'] !== undefined && !namesField(responseDirectives, 'set-cookie')) flags |= C.F_SET_COOKIE_KEPT
  io[0] = status
  io[1] = flags
  io[2] = requestDirectives.bits
  io[3] = responseDirectives.bits
  io[4] = responseDirectives.maxAge
  io[5] = responseDirectives.sMaxAge
  io[6] = responseDirectives.swr
  io[7] = responseDirectives.sie
  io[8] = cacheByDefault === undefined ? NaN : cacheByDefault
  io[9] = requestTime
  io[10] = responseTime
  binding.interceptorArrive(str(headers.expires) + '\0' + str(headers.date) + '\0' +
    str(headers['last-modified']) + '\0' + (headers.age === undefined ? '' : fieldValue(headers.age).replaceAll('\0', ' ')))
  return { storable: io[0] === 1, lifetime: io[1], initialAge: io[2] }
}

const USE_REVALIDATE = 0
const USE_SERVE = 1
const USE_SERVE_STALE_AND_REVALIDATE = 2
const USE_GATEWAY_TIMEOUT = 3

/**
 * RFC 9111 §4, §5.2.1, RFC 5861: how a stored response may serve a request.
 * @returns {number} a USE_* code, plus C.USE_STALE_IF_ERROR when a failed revalidation may serve it
 */
function use (shared, responseDirectives, requestDirectives, pragmaNoCache, lifetime, age) {
  let flags = 0
  if (shared) flags |= C.F_SHARED
  if (pragmaNoCache) flags |= C.F_PRAGMA_NO_CACHE
  io[0] = flags
  io[1] = responseDirectives.bits
  io[2] = responseDirectives.swr
  io[3] = responseDirectives.sie
  io[4] = requestDirectives.bits
  io[5] = requestDirectives.maxAge
  io[6] = requestDirectives.minFresh
  io[7] = requestDirectives.maxStale
  io[8] = requestDirectives.sie
  io[9] = lifetime
  io[10] = age
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
  return binding.interceptorNotModifiedSelects(
    typeof stored.etag === 'string' ? stored.etag : undefined,
    typeof stored['last-modified'] === 'string' ? stored['last-modified'] : undefined,
    typeof fresh.etag === 'string' ? fresh.etag : undefined,
    typeof fresh['last-modified'] === 'string' ? fresh['last-modified'] : undefined
  )
}

module.exports = {
  C,
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
