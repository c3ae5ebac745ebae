'use strict'

// What the JS shells share about stored entries: the Writable their
// `createWriteStream` returns, the metadata format both undici store shells
// write and read, the `GetResult` object they return, and the escaping that
// keeps keys (and vsf tags) distinct once Rust holds them as UTF-8.

const { Writable } = require('node:stream')
const { compileVary } = require('./vary.js')
const { memoryMeta: META } = require('./wire.js')

/** `_append`'s answer when the store was closed while the body was being written. */
const STORE_GONE = -2

/**
 * The Writable a store's `createWriteStream` returns: chunks are counted
 * against `maxEntrySize` (past it the body is dropped and the stream
 * destroyed, as undici's stores do) and handed to the store one by one
 * (`_append(writer, chunk)` → the native writer id, or `STORE_GONE`; a throw
 * fails the write); `_release(writer)` drops an unfinished body when the stream
 * is destroyed. Each store commits in its own `_final` (`takeWriter()`).
 * Methods on a prototype, not per-stream closures.
 */
class EntryWriter extends Writable {
  constructor (maxEntrySize) {
    super()
    this.maxEntrySize = maxEntrySize
    this.writer = -1
    this.size = 0
  }

  _write (chunk, encoding, callback) {
    if (typeof chunk === 'string') chunk = Buffer.from(chunk, encoding)
    this.size += chunk.byteLength
    if (this.size > this.maxEntrySize) {
      this._abort()
      this.destroy()
      return callback()
    }
    if (chunk.byteLength > 0) {
      try {
        this.writer = this._append(this.writer, chunk)
      } catch (err) {
        return callback(err)
      }
      if (this.writer === STORE_GONE) {
        this.destroy()
        return callback()
      }
    }
    callback()
  }

  /** The body's writer id, handed over (the stream no longer owns it). */
  takeWriter () {
    const writer = this.writer
    this.writer = -1
    return writer
  }

  _destroy (err, callback) {
    this._abort()
    callback(err)
  }

  _abort () {
    if (this.writer >= 0) this._release(this.takeWriter())
  }
}

/** A time as JSON text (JSON has no Infinity; JSON.parse reads 1e999 as one). */
function jsonTime (t) {
  return Number.isFinite(t) ? String(t) : t > 0 ? '1e999' : t < 0 ? '-1e999' : 'null'
}

/**
 * The shell's part of a `CacheValue`'s metadata as a JSON array: the META
 * slots after the times (the memory store keeps the times as numbers in Rust
 * and puts them in front when it hands the metadata back).
 */
function shellMetaJson (value) {
  // A literal (a packed array, the cheapest to stringify) in META order,
  // checked below when this module loads.
  return JSON.stringify([value.statusCode, value.statusMessage, value.headers, value.vary, value.etag, value.cacheControlDirectives])
}
if ([META.statusCode, META.statusMessage, META.headers, META.vary, META.etag, META.cacheControlDirectives]
  .some((slot, i) => slot !== META.times + i)) {
  throw new Error('ferrocache: shellMetaJson does not match wireLayout().memoryMeta')
}

/** The whole metadata, times first: what the SQLite store keeps. */
function metaJson (value) {
  const times = new Array(META.times)
  times[META.cachedAt] = jsonTime(value.cachedAt)
  times[META.staleAt] = jsonTime(value.staleAt)
  times[META.deleteAt] = jsonTime(value.deleteAt)
  return '[' + times.join(',') + ',' + shellMetaJson(value).slice(1)
}

/**
 * A stored response as a shell memoises it: id, the CacheValue fields read
 * from parsed metadata `v` (JSON turned undefined into null; etag, vary and
 * directives are never null when given), the compiled Vary check, and `body`
 * (a Buffer, null for an empty body, or undefined when not held).
 */
function entryFromMeta (id, v, body) {
  return {
    id,
    statusCode: v[META.statusCode],
    statusMessage: v[META.statusMessage],
    headers: v[META.headers],
    vary: v[META.vary] ?? undefined,
    select: compileVary(v[META.vary]),
    etag: v[META.etag] ?? undefined,
    cacheControlDirectives: v[META.cacheControlDirectives] ?? undefined,
    cachedAt: v[META.cachedAt],
    staleAt: v[META.staleAt],
    deleteAt: v[META.deleteAt],
    body
  }
}

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

module.exports = { EntryWriter, STORE_GONE, shellMetaJson, metaJson, entryFromMeta, getResult, escaped, utf8Key }
