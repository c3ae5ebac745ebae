'use strict'

// Argument checks shared by the stores. Messages are undici's own
// (lib/util/cache.js assertCacheKey / assertCacheValue) so code that matches
// on them keeps working; the extra checks (NaN times, vary value types) name
// the field the same way.

// Control characters no header name or value may hold; the variant-key
// encoding (lib/vary.js) uses them as separators.
const RESERVED = /[\u0000-\u0002]/

function assertKeyObject (key) {
  if (typeof key !== 'object' || key === null) {
    throw new TypeError(`expected key to be object, got ${key === null ? 'null' : typeof key}`)
  }
}

/**
 * Checks key fields the caller has already read into locals: each field is
 * read once, so a getter cannot pass the check with a string and then hand
 * the native call something else.
 */
function assertKeyFields (origin, path, method, headers) {
  if (typeof origin !== 'string') {
    throw new TypeError(`expected key.origin to be string, got ${typeof origin}`)
  }
  if (typeof path !== 'string') {
    throw new TypeError(`expected key.path to be string, got ${typeof path}`)
  }
  if (typeof method !== 'string') {
    throw new TypeError(`expected key.method to be string, got ${typeof method}`)
  }
  if (headers !== undefined && typeof headers !== 'object') {
    throw new TypeError(`expected headers to be object, got ${typeof headers}`)
  }
}

/** A checked copy of a cache key's fields (each read once). */
function readCacheKey (key) {
  assertKeyObject(key)
  const k = { origin: key.origin, path: key.path, method: key.method, headers: key.headers }
  assertKeyFields(k.origin, k.path, k.method, k.headers)
  return k
}

/** The key fields `delete` needs, checked and read once: string `origin` and `path`. */
function readResourceKey (key) {
  assertKeyObject(key)
  const origin = key.origin
  if (typeof origin !== 'string') {
    throw new TypeError(`expected key.origin to be string, got ${typeof origin}`)
  }
  const path = key.path
  if (typeof path !== 'string') {
    throw new TypeError(`expected key.path to be string, got ${typeof path}`)
  }
  return { origin, path }
}

function assertTime (value, name) {
  if (typeof value !== 'number') {
    throw new TypeError(`expected value.${name} to be number, got ${typeof value}`)
  }
  if (Number.isNaN(value)) {
    throw new TypeError(`expected value.${name} to be a number, got NaN`)
  }
}

/**
 * Stored metadata is JSON: an object JSON would turn into something else (a
 * Date into a string, an array into a list, a Map into {}) would be served
 * back as that, so only plain objects (any prototype-less one included) are
 * taken as header maps.
 */
function assertPlain (v, name) {
  const proto = Object.getPrototypeOf(v)
  if (proto !== Object.prototype && proto !== null) {
    const kind = Array.isArray(v) ? 'array' : (proto?.constructor?.name ?? 'object')
    throw new TypeError(`expected ${name} to be a plain object, got ${kind}`)
  }
}

function assertCacheValue (value) {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`expected value to be object, got ${value === null ? 'null' : typeof value}`)
  }
  if (typeof value.statusCode !== 'number') {
    throw new TypeError(`expected value.statusCode to be number, got ${typeof value.statusCode}`)
  }
  if (!Number.isInteger(value.statusCode) || value.statusCode < 100 || value.statusCode > 999) {
    throw new RangeError(`expected value.statusCode to be an integer from 100 to 999, got ${value.statusCode}`)
  }
  assertTime(value.cachedAt, 'cachedAt')
  assertTime(value.staleAt, 'staleAt')
  assertTime(value.deleteAt, 'deleteAt')
  if (value.deleteAt < value.cachedAt) {
    throw new RangeError('expected value.deleteAt to be at or after value.cachedAt')
  }
  if (typeof value.statusMessage !== 'string') {
    throw new TypeError(`expected value.statusMessage to be string, got ${typeof value.statusMessage}`)
  }
  if (value.headers != null) {
    if (typeof value.headers !== 'object') {
      throw new TypeError(`expected value.rawHeaders to be object, got ${typeof value.headers}`)
    }
    assertPlain(value.headers, 'value.headers')
  }
  if (value.vary !== undefined) {
    if (typeof value.vary !== 'object') {
      throw new TypeError(`expected value.vary to be object, got ${typeof value.vary}`)
    }
    if (value.vary !== null) {
      assertPlain(value.vary, 'value.vary')
      for (const name of Object.keys(value.vary)) {
        const v = value.vary[name]
        if (RESERVED.test(name)) {
          throw new TypeError(`expected value.vary names to be header names, got ${JSON.stringify(name)}`)
        }
        if (v === null) continue
        if (typeof v === 'string' ? !RESERVED.test(v) : Array.isArray(v) && v.every((x) => typeof x === 'string' && !RESERVED.test(x))) continue
        throw new TypeError(`expected value.vary['${name}'] to be a header value (string, array of strings or null), got ${Array.isArray(v) ? 'array' : typeof v}`)
      }
    }
  }
  if (value.etag !== undefined && typeof value.etag !== 'string') {
    throw new TypeError(`expected value.etag to be string, got ${typeof value.etag}`)
  }
}

function assertLimit (opts, name, cls) {
  const v = opts[name]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new TypeError(`${cls} options.${name} must be a non-negative integer`)
  }
  return v
}

/**
 * Whether a response could not be kept whatever its body: already expired at
 * `now`, a store that holds nothing, or a declared Content-Length over the
 * entry or store limit (undici's stores then return no stream either).
 */
function cannotKeep (value, now, maxCount, maxEntrySize, maxSize) {
  if (value.deleteAt <= now || maxCount === 0) return true
  const declared = value.headers?.['content-length']
  if (typeof declared === 'string' && /^\d+$/.test(declared)) {
    const n = Number(declared)
    if (n > maxEntrySize || n > maxSize) return true
  }
  return false
}

module.exports = { assertKeyObject, assertKeyFields, readCacheKey, readResourceKey, assertCacheValue, assertLimit, cannotKeep }
