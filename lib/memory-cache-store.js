'use strict'

const { EventEmitter } = require('node:events')
const binding = require('../binding.js')
const { assertKeyObject, assertKeyFields, readCacheKey, readResourceKey, assertCacheValue, assertLimit, cannotKeep } = require('./validate.js')
const { variantKey, selects, snapshotHeaders } = require('./vary.js')
const { memoryStats: STATS, memoryCommit: COMMIT } = require('./wire.js')
const { EntryWriter, shellMetaJson, entryFromMeta, getResult } = require('./store-entry.js')

// RFC 9110 §5.6.2 token: what a request method may consist of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

const kCommit = Symbol('commit')

/**
 * The Writable `createWriteStream` returns: each chunk is copied once into a
 * Rust buffer (the caller may reuse its Buffer); `end()` commits the entry
 * synchronously.
 */
class StoreWriter extends EntryWriter {
  constructor (store, handle, maxEntrySize, key, variant, meta, value) {
    super(maxEntrySize)
    this.store = store
    this.handle = handle
    this.method = key.method
    this.origin = key.origin
    this.path = key.path
    this.requestHeaders = snapshotHeaders(key.headers)
    this.variant = variant
    this.meta = meta
    this.cachedAt = value.cachedAt
    this.staleAt = value.staleAt
    this.deleteAt = value.deleteAt
  }

  _append (writer, chunk) {
    return binding.memoryStoreAppend(this.handle, writer, chunk)
  }

  _release (writer) {
    binding.memoryStoreAbort(this.handle, writer)
  }

  _final (callback) {
    this.store[kCommit](this)
    this.writer = -1
    callback()
  }
}

const DEFAULT_MAX_SIZE = 104857600 // 100 MiB, undici's default
const DEFAULT_MAX_COUNT = 1024
const DEFAULT_MAX_ENTRY_SIZE = 5242880 // 5 MiB


/**
 * An undici `CacheStore` whose entries live in Rust memory: true LRU, exact
 * `maxSize`/`maxCount`, bodies handed back as Buffers over the stored bytes.
 *
 * Each entry's JS result (headers object, directives, body Buffer) is built
 * once per store object and reused on later hits (`#memo`, keyed by the
 * entry's never-reused id); a hit is one call into Rust returning that id.
 * Rust picks the live variants for origin + path + method; the Vary check runs
 * here, where the request headers are, and the served id is reported to Rust
 * with the next call (`#touch`) so LRU order is exact whenever Rust evicts.
 */
class MemoryCacheStore extends EventEmitter {
  #handle // slot number of this thread's native handle
  #owner // frees the slot when this store is collected
  #maxSize = DEFAULT_MAX_SIZE
  #maxCount = DEFAULT_MAX_COUNT
  #maxEntrySize = DEFAULT_MAX_ENTRY_SIZE
  #errorCallback = null
  #name = undefined
  #memo = new Map()
  // The single candidate the last get served (0: none), reported to Rust with
  // the next call to move it up the LRU order (the hit is already counted).
  // What changes the counters (a variant picked among several, a single
  // candidate failing the Vary check) is reported at once instead.
  #touch = 0

  constructor (opts) {
    super()
    if (opts !== undefined && opts !== null) {
      if (typeof opts !== 'object') {
        throw new TypeError('MemoryCacheStore options must be an object')
      }
      this.#maxCount = assertLimit(opts, 'maxCount', 'MemoryCacheStore') ?? this.#maxCount
      this.#maxSize = assertLimit(opts, 'maxSize', 'MemoryCacheStore') ?? this.#maxSize
      this.#maxEntrySize = assertLimit(opts, 'maxEntrySize', 'MemoryCacheStore') ?? this.#maxEntrySize
      if (opts.errorCallback !== undefined) {
        if (typeof opts.errorCallback !== 'function') {
          throw new TypeError('MemoryCacheStore options.errorCallback must be a function')
        }
        this.#errorCallback = opts.errorCallback
      }
      if (opts.name !== undefined) {
        if (typeof opts.name !== 'string' || opts.name.length === 0) {
          throw new TypeError('MemoryCacheStore options.name must be a non-empty string')
        }
        this.#name = opts.name
      }
    }
    let opened
    try {
      opened = binding.memoryStoreOpen(this.#maxSize, this.#maxCount, this.#maxEntrySize, this.#name)
    } catch (err) {
      // A named store exists with other limits.
      throw new RangeError(err.message)
    }
    const [slot, owner] = opened
    this.#handle = slot
    this.#owner = owner
  }

  /** Bytes of stored bodies. */
  get size () {
    return binding.memoryStoreSize(this.#handle)
  }

  /** Number of stored responses. */
  get count () {
    return binding.memoryStoreCount(this.#handle)
  }

  /** The process-wide store this object is a handle to, if opened by name. */
  get name () { return this.#name }

  get maxSize () { return this.#maxSize }
  get maxCount () { return this.#maxCount }
  get maxEntrySize () { return this.#maxEntrySize }

  /** At `maxSize` or `maxCount`, or the last write was refused for room. */
  isFull () {
    return binding.memoryStoreIsFull(this.#handle)
  }

  /**
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   */
  get (key) {
    assertKeyObject(key)
    const origin = key.origin
    const path = key.path
    const method = key.method
    const headers = key.headers
    assertKeyFields(origin, path, method, headers)
    // Rust reads origin and path as UTF-16 (lossless) into its length-prefixed
    // key: no string is built here.
    const found = binding.memoryStoreLookup(this.#handle, method, origin, path, this.#touch, Date.now())
    this.#touch = 0
    if (found === -1) return undefined
    let m
    if (typeof found === 'number') {
      m = this.#memo.get(found) ?? this.#materialize(found)
      if (m === undefined || !selects(m.select, headers)) {
        // Rust counted the single candidate as a hit: take it back now.
        binding.memoryStoreServed(this.#handle, -0.5)
        return undefined
      }
      this.#touch = found
    } else {
      // [removed, ...candidates]: several variants, or entries removed since
      // this handle last asked (by any handle): drop them from the memo.
      if (found[0] === 1) this.#forget(binding.memoryStoreRemoved(this.#handle), 0)
      const single = found.length === 2
      for (let i = 1; i < found.length; i++) {
        const c = this.#memo.get(found[i]) ?? this.#materialize(found[i])
        if (c !== undefined && selects(c.select, headers)) {
          m = c
          break
        }
      }
      if (m === undefined) {
        if (single) binding.memoryStoreServed(this.#handle, -0.5)
        return undefined
      }
      if (single) {
        this.#touch = m.id
      } else {
        // A pick among several is counted now, not with the next call.
        binding.memoryStoreServed(this.#handle, -m.id)
      }
    }
    return getResult(m, m.body)
  }

  #materialize (id) {
    const meta = binding.memoryStoreMeta(this.#handle, id)
    if (meta === null) return undefined
    const body = binding.memoryStoreBody(this.#handle, id)
    // null: another handle of a named store (a worker thread) removed the entry between
    // the two calls. A miss, not a hit with an empty body (an empty body is a 0-byte Buffer).
    if (body === null) return undefined
    // The times Rust keeps, then what createWriteStream wrote.
    const m = entryFromMeta(id, JSON.parse(meta), body.length === 0 ? null : body)
    this.#memo.set(id, m)
    return m
  }

  /** Drops memoised results of entries the store no longer holds. */
  #forget (ids, from) {
    const memo = this.#memo
    if (memo.size === 0) return
    let i = from
    if (ids[i] === -1) {
      // The removal log overflowed: check every memoised id.
      const known = [...memo.keys()]
      const alive = binding.memoryStoreAlive(this.#handle, known)
      for (let j = 0; j < known.length; j++) if (alive[j] === 0) memo.delete(known[j])
      return
    }
    for (; i < ids.length; i++) memo.delete(ids[i])
  }

  /**
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   * @param {import('undici/types/cache-interceptor').default.CacheValue} value
   * @returns {Writable | undefined}
   */
  createWriteStream (key, value) {
    key = readCacheKey(key)
    assertCacheValue(value)

    const now = Date.now()
    if (cannotKeep(value, now, this.#maxCount, this.#maxEntrySize, this.#maxSize)) return undefined

    let meta
    try {
      // The times travel as numbers (see memoryStoreMeta).
      meta = shellMetaJson(value)
    } catch (err) {
      throw new TypeError(`expected value to be serialisable (headers, vary, cacheControlDirectives): ${err.message}`)
    }

    const method = key.method
    if (method !== 'GET' && method !== 'HEAD' && !TOKEN.test(method)) {
      throw new TypeError('expected key.method to be an HTTP method token')
    }
    return new StoreWriter(this, this.#handle, this.#maxEntrySize, key, variantKey(value.vary), meta, value)
  }

  /** Called by a StoreWriter's final(): stores the body it accumulated in Rust. */
  [kCommit] (w) {
    let out
    try {
      out = binding.memoryStoreCommit(
        this.#handle, w.writer, w.method, w.origin, w.path, w.requestHeaders, w.variant, w.meta,
        w.cachedAt, w.staleAt, w.deleteAt,
        Date.now(), this.#touch, this.#memo.size > 0
      )
      this.#touch = 0
    } catch (err) {
      this.#reportError(err)
      return
    }
    if (typeof out === 'number') return
    if (out.length > COMMIT.removed) this.#forget(out, COMMIT.removed)
    if (out[COMMIT.exceeded] === 1) {
      this.emit('maxSizeExceeded', { size: out[COMMIT.size], maxSize: this.#maxSize, count: out[COMMIT.count], maxCount: this.#maxCount })
    }
  }

  #reportError (err) {
    if (this.#errorCallback !== null) this.#errorCallback(err)
  }

  /**
   * Removes every stored variant of `origin` + `path` (any method).
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   */
  delete (key) {
    key = readResourceKey(key)
    const out = binding.memoryStoreDelete(this.#handle, key.origin, key.path)
    if (out.length > 0) this.#forget(out, 0)
  }

  /** Removes every entry. */
  clear () {
    binding.memoryStoreClear(this.#handle)
    binding.memoryStoreRemoved(this.#handle)
    this.#memo.clear()
  }

  /** Reclaims entries past their `deleteAt` now (writes also do it). */
  purgeExpired () {
    const n = binding.memoryStorePurge(this.#handle, Date.now())
    const out = binding.memoryStoreRemoved(this.#handle)
    if (out.length > 0) this.#forget(out, 0)
    return n
  }

  /** Store-wide counters: `{ hits, misses, writes, evictions, expired, size, count, hitRatio }`. */
  stats () {
    const s = binding.memoryStoreStats(this.#handle, this.#touch)
    this.#touch = 0
    const lookups = s[STATS.hits] + s[STATS.misses]
    return {
      hits: s[STATS.hits],
      misses: s[STATS.misses],
      writes: s[STATS.writes],
      evictions: s[STATS.evictions],
      expired: s[STATS.expired],
      size: s[STATS.size],
      count: s[STATS.count],
      hitRatio: lookups === 0 ? 0 : s[STATS.hits] / lookups
    }
  }
}

module.exports = { MemoryCacheStore }
