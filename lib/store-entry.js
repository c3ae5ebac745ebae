'use strict'

// What the JS shells share about stored entries: the `GetResult` object both
// undici store shells return, and the escaping that keeps keys (and vsf tags)
// distinct once Rust holds them as UTF-8.

/**
 * undici's `GetResult` for a memoised entry `m` (the stored `CacheValue`
 * fields) and its body (a Buffer, or null for an empty body). Every key is
 * present, even when undefined, as undici's tests compare whole objects; the
 * body is an array of Buffers, which undici's 304 path iterates.
 */
function getResult (m, body) {
  return {
    statusCode: m.statusCode,
    statusMessage: m.statusMessage,
    headers: m.headers,
    vary: m.vary,
    etag: m.etag,
    cacheControlDirectives: m.cacheControlDirectives,
    cachedAt: m.cachedAt,
    staleAt: m.staleAt,
    deleteAt: m.deleteAt,
    body: body === null ? [] : [body]
  }
}

// UTF-8 turns every lone surrogate into U+FFFD, so '\uD800' and '\uDBFF' would
// be one key. A string that is not well-formed UTF-16 is escaped instead
// ('%' -> '%25', a lone surrogate -> '%uXXXX') behind a '!'.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g
function escapeUnit (c) {
  return '%u' + c.charCodeAt(0).toString(16)
}

/** `'!'` + `s` escaped: well-formed, and distinct for distinct `s`. */
function escaped (s) {
  return '!' + s.replace(/%/g, '%25').replace(LONE_SURROGATE, escapeUnit)
}

/**
 * A key as Rust may hold it, for keys that never start with '!' when
 * well-formed (length-prefixed keys start with a digit): itself when
 * well-formed, else escaped.
 */
function utf8Key (key) {
  return key.isWellFormed() ? key : escaped(key)
}

module.exports = { getResult, escaped, utf8Key }
