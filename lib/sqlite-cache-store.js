'use strict'

const binding = require('../binding.js')
const { assertKeyObject, assertKeyFields, readCacheKey, readResourceKey, assertCacheValue, assertLimit, cannotKeep } = require('./validate.js')
const { variantKey, selects, snapshotHeaders } = require('./vary.js')
const { sqliteStats: STATS } = require('./wire.js')
const { EntryWriter, metaJson, entryFromMeta, getResult, utf8Key } = require('./store-entry.js')

// RFC 9110 §5.6.2 token: what a request method may consist of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

// undici's SqliteCacheStore: maxEntrySize defaults to (and may not exceed) 2 GB.
const MAX_ENTRY_SIZE = 2 * 1000 * 1000 * 1000

// Bodies larger than this are read on the libuv thread pool and get() returns
// a Promise; smaller ones are read synchronously (see docs/sqlite-store.md for
// the measurements behind the threshold).
const ASYNC_READ_BYTES = 256 * 1024

// Bytes of bodies this store object keeps materialised in JS (per object).
// Every stored response gets a fresh random 53-bit id (src/store/sqlite.rs),
// so a memoised response is right for its id; the lookup says which ids live.
const MEMO_BYTES = 64 * 1024 * 1024
// Bodies larger than this are never memoised (they would evict everything).
const MEMO_ENTRY_BYTES = MEMO_BYTES / 8
// Responses whose metadata (headers object, directives, Vary) is memoised.
const MEMO_ENTRIES = 32768

/**
 * The Writable `createWriteStream` returns: chunks go to a Rust buffer, `end()`
 * commits the entry in one transaction. `handle` is a slot number: the stream
 * holds the store's owner so the slot is not freed (and given to another
 * store) while the stream is open.
 */
class SqliteWriter extends EntryWriter {
  constructor ({ owner, handle, maxEntrySize, packed, requestHeaders, variant, meta, deleteAt }) {
    super(maxEntrySize)
    this.owner = owner
    this.handle = handle
    this.packed = packed
    this.requestHeaders = requestHeaders
    this.variant = variant
    this.meta = meta
    this.deleteAt = deleteAt
  }

  _append (writer, chunk) {
    return binding.sqliteStoreAppend(this.handle, writer, chunk)
  }

  _release (writer) {
    try { binding.sqliteStoreAbort(this.handle, writer) } catch {}
  }

  _final (callback) {
    try {
      binding.sqliteStoreCommit(this.handle, this.takeWriter(), this.packed, this.requestHeaders, this.variant,
        this.meta, this.deleteAt, Date.now())
    } catch (err) {
      return callback(err)
    }
    callback()
  }

  _destroy (err, callback) {
    this.owner = null
    super._destroy(err, callback)
  }
}

// The resource key as SQL text: length-prefixed like MemoryCacheStore's (so
// origin 'http://a:1' + path '/x' and 'http://a' + ':1/x' differ), and with
// lone surrogates escaped (they would merge in UTF-8).
function resourceKey (origin, path) {
  return utf8Key(origin.length + ':' + origin + path)
}

/** Whether `sqliteStoreFind`'s result still lists response `id` as live. */
function liveIn (found, id) {
  if (typeof found === 'number') return found === id || found === -id
  if (!Array.isArray(found)) return true // the body of `id` itself
  if (found.length === 3 && typeof found[2] === 'object') return found[0] === id
  return found.includes(id) || found.includes(-id)
}

/**
 * An undici `CacheStore` in a SQLite file (bundled SQLite: no `node:sqlite`
 * needed, Node 20+). Several processes may share one file; entries survive a
 * restart; each entry is committed in one transaction.
 *
 * `get` is synchronous, except for bodies over 256 KiB, which are read off
 * the event loop (a Promise, which undici's interceptor awaits).
 */
class SqliteCacheStore {
  #handle // slot number of this thread's native handle
  #owner // frees the slot when this store is collected
  #location = ':memory:'
  #maxCount = Infinity
  #maxSize = Infinity
  #maxEntrySize = MAX_ENTRY_SIZE
  #closed = false
  #memo = new Map() // id -> materialised response, insertion order
  #bodyBytes = 0 // bytes of the bodies #memo holds
  #bodiesHeld = 0
  #refused = 0 // bodies not held since the budget filled
  #heldHits = 0 // gets served from a held body since the last reset
  #known = new Map() // packed key -> id last served for it
  #hits = 0
  #misses = 0

  constructor (opts) {
    if (opts) {
      if (typeof opts !== 'object') {
        throw new TypeError('SqliteCacheStore options must be an object')
      }
      this.#maxEntrySize = assertLimit(opts, 'maxEntrySize', 'SqliteCacheStore') ?? this.#maxEntrySize
      if (this.#maxEntrySize > MAX_ENTRY_SIZE) {
        throw new TypeError('SqliteCacheStore options.maxEntrySize must be less than 2gb')
      }
      this.#maxCount = assertLimit(opts, 'maxCount', 'SqliteCacheStore') ?? this.#maxCount
      this.#maxSize = assertLimit(opts, 'maxSize', 'SqliteCacheStore') ?? this.#maxSize
      if (opts.location !== undefined) {
        if (typeof opts.location !== 'string' || opts.location.length === 0) {
          throw new TypeError('SqliteCacheStore options.location must be a non-empty string')
        }
        // A file name reaches SQLite as UTF-8 and a C string: a NUL would cut
        // it, and a lone surrogate would become U+FFFD (two names, one file).
        if (opts.location.includes('\u0000') || !opts.location.isWellFormed()) {
          throw new TypeError('SqliteCacheStore options.location must not contain NUL characters or lone surrogates')
        }
        this.#location = opts.location
      }
    }
    const [slot, owner] = binding.sqliteStoreOpen(this.#location, this.#maxCount, this.#maxSize, this.#maxEntrySize)
    this.#handle = slot
    this.#owner = owner
  }

  get location () { return this.#location }
  get maxCount () { return this.#maxCount }
  get maxSize () { return this.#maxSize }
  get maxEntrySize () { return this.#maxEntrySize }

  /** Number of stored responses (undici's SqliteCacheStore#size counts rows too). */
  get size () {
    return binding.sqliteStoreStats(this.#handle)[STATS.count]
  }

  /** Number of stored responses in the file (every process's). */
  get count () {
    return binding.sqliteStoreStats(this.#handle)[STATS.count]
  }

  /**
   * Closes the database. Later calls throw; closing twice is harmless.
   */
  close () {
    if (this.#closed) return
    this.#closed = true
    this.#forgetAll()
    binding.sqliteStoreClose(this.#handle)
  }

  /**
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   * @returns {object | undefined | Promise<object | undefined>}
   */
  get (key) {
    assertKeyObject(key)
    const origin = key.origin
    const path = key.path
    const method = key.method
    const headers = key.headers
    assertKeyFields(origin, path, method, headers)
    if (method.indexOf('\n') !== -1) {
      throw new TypeError('expected key.method to be an HTTP method token')
    }
    const packed = method + '\n' + resourceKey(origin, path)
    const knownId = this.#known.get(packed)
    const km = knownId === undefined ? undefined : this.#memo.get(knownId)
    const found = binding.sqliteStoreFind(
      this.#handle, packed, Date.now(), ASYNC_READ_BYTES,
      km === undefined ? 0 : knownId, km !== undefined && km.body !== undefined
    )
    if (found === 0) {
      // The row we memoised for this key is gone (replaced, evicted, deleted
      // or expired, by any store object or process): let it go now.
      if (km !== undefined) this.#forgetKnown(packed, knownId)
      this.#misses++
      return undefined
    }
    if (km !== undefined && !liveIn(found, knownId)) this.#forgetKnown(packed, knownId)
    let m
    let body
    if (typeof found === 'number') {
      // Our memoised response is the live one, or a large body to read off the loop.
      if (found < 0) return this.#pickAsync(packed, [found], 0, headers)
      m = km
      body = km.body
      this.#heldHits++
    } else if (!Array.isArray(found)) {
      // The body of our memoised response (which holds no body).
      m = km
      body = this.#hold(m, found)
    } else if (found.length === 3 && typeof found[2] === 'object') {
      // [id, meta, body]: the one live response, read.
      m = this.#materialize(found[0], found[1])
      this.#remember(packed, found[0])
      body = this.#hold(m, found[2])
    } else {
      return this.#pick(packed, found, headers)
    }
    if (!selects(m.select, headers)) {
      this.#misses++
      return undefined
    }
    this.#hits++
    return getResult(m, body)
  }

  /** Picks the first of several variants that matches the request's Vary. */
  #pick (packed, found, headers) {
    for (let i = 0; i < found.length; i++) {
      const signed = found[i]
      const id = signed < 0 ? -signed : signed
      let m = this.#memo.get(id)
      let body = m?.body
      if (body === undefined) {
        if (signed < 0) return this.#pickAsync(packed, found, i, headers)
        const row = binding.sqliteStoreRead(this.#handle, packed, id)
        if (row === null) continue
        m ??= this.#materialize(id, row[0])
        body = this.#hold(m, row[1])
      }
      if (selects(m.select, headers)) {
        this.#hits++
        return getResult(m, body)
      }
    }
    this.#misses++
    return undefined
  }

  async #pickAsync (packed, found, from, headers) {
    for (let i = from; i < found.length; i++) {
      const id = found[i] < 0 ? -found[i] : found[i]
      let m = this.#memo.get(id)
      let body = m?.body
      if (body === undefined) {
        const row = await binding.sqliteStoreReadAsync(this.#handle, packed, id)
        if (row === null) continue
        m ??= this.#materialize(id, row[0])
        body = this.#hold(m, row[1])
        if (found.length === 1) this.#remember(packed, id)
      }
      if (selects(m.select, headers)) {
        this.#hits++
        return getResult(m, body)
      }
    }
    this.#misses++
    return undefined
  }

  /** Parses a response's metadata once per id and memoises it (without its body). */
  #materialize (id, meta) {
    // The memory store's metadata format (lib/store-entry.js), times included.
    const m = entryFromMeta(id, JSON.parse(meta), undefined)
    if (this.#closed) return m
    this.#memo.set(id, m)
    if (this.#memo.size > MEMO_ENTRIES) this.#shrinkMemo()
    return m
  }

  /** Drops the memoised response of a key whose row a lookup found gone. */
  #forgetKnown (packed, id) {
    const m = this.#memo.get(id)
    if (m !== undefined) {
      if (m.body) {
        this.#bodyBytes -= m.body.length
        this.#bodiesHeld--
      }
      this.#memo.delete(id)
    }
    if (this.#known.get(packed) === id) this.#known.delete(packed)
  }

  /** The id last served for a key, so the next find need not read it again. */
  #remember (packed, id) {
    if (this.#known.size >= MEMO_ENTRIES) this.#known.clear()
    this.#known.set(packed, id)
  }

  /**
   * Keeps `body` with its memoised response if it fits the body budget;
   * returns the body to serve. Bodies are not evicted one by one to admit
   * others: under a working set larger than the budget that only turns young
   * garbage into old (costly for the GC) and serves nothing. Instead, when
   * bodies refused outnumber hits on held bodies four to one (the held ones
   * went cold or dead), every body is let go and the budget refills with what
   * is read next.
   */
  #hold (m, body) {
    if (body.length === 0) {
      m.body = null
      return null
    }
    if (m.body !== undefined || this.#closed || body.length > MEMO_ENTRY_BYTES) return body
    if (this.#bodyBytes + body.length <= MEMO_BYTES) {
      m.body = body
      this.#bodyBytes += body.length
      this.#bodiesHeld++
    } else if (++this.#refused > 4 * this.#heldHits + 1024) {
      for (const e of this.#memo.values()) if (e.body) e.body = undefined
      this.#bodyBytes = 0
      this.#bodiesHeld = 0
      this.#refused = 0
      this.#heldHits = 0
    }
    return body
  }

  /** Drops the oldest memoised responses until a quarter of the entry budget is free. */
  #shrinkMemo () {
    for (const [id, m] of this.#memo) {
      if (this.#memo.size <= MEMO_ENTRIES * 0.75) break
      if (m.body) {
        this.#bodyBytes -= m.body.length
        this.#bodiesHeld--
      }
      this.#memo.delete(id)
    }
  }

  /**
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   * @param {import('undici/types/cache-interceptor').default.CacheValue} value
   * @returns {Writable | undefined}
   */
  createWriteStream (key, value) {
    const w = this.#prepareWrite(key, value)
    if (w === undefined) return undefined
    return new SqliteWriter(w)
  }

  /**
   * Stores a complete response at once, as undici's `SqliteCacheStore#set`
   * (undici's own sqlite tests call it): `value` is a `CacheValue` plus `body`
   * (a Buffer, an array of Buffers, or null/undefined for none). Synchronous;
   * a body over `maxEntrySize` (or an already-expired value) is not stored.
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   * @param {import('undici/types/cache-interceptor').default.CacheValue & { body?: Uint8Array | Uint8Array[] | null }} value
   */
  set (key, value) {
    if (typeof value !== 'object' || value === null) {
      throw new TypeError(`expected value to be object, got ${value === null ? 'null' : typeof value}`)
    }
    const body = value.body
    const chunks = body == null ? [] : Array.isArray(body) ? body : [body]
    let size = 0
    for (const chunk of chunks) {
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError('expected value.body to be a Buffer, an array of Buffers, or null')
      }
      size += chunk.byteLength
    }
    const { body: _, ...rest } = value
    const w = this.#prepareWrite(key, rest)
    if (w === undefined || size > w.maxEntrySize) return
    let writer = -1
    try {
      for (const chunk of chunks) {
        if (chunk.byteLength > 0) writer = binding.sqliteStoreAppend(w.handle, writer, chunk)
      }
      const id = writer
      writer = -1
      binding.sqliteStoreCommit(w.handle, id, w.packed, w.requestHeaders, w.variant, w.meta, w.deleteAt, Date.now())
    } finally {
      if (writer >= 0) binding.sqliteStoreAbort(w.handle, writer)
    }
  }

  /** Validates a write and packs what the commit needs; `undefined` when nothing could be kept. */
  #prepareWrite (key, value) {
    key = readCacheKey(key)
    assertCacheValue(value)
    if (this.#closed) throw new Error('SqliteCacheStore is closed')

    const now = Date.now()
    if (cannotKeep(value, now, this.#maxCount, this.#maxEntrySize, this.#maxSize)) return undefined

    let meta
    try {
      meta = metaJson(value)
    } catch (err) {
      throw new TypeError(`expected value to be serialisable (headers, vary, cacheControlDirectives): ${err.message}`)
    }

    const method = key.method
    if (!TOKEN.test(method)) {
      throw new TypeError('expected key.method to be an HTTP method token')
    }
    return {
      handle: this.#handle,
      owner: this.#owner,
      maxEntrySize: this.#maxEntrySize,
      packed: method + '\n' + resourceKey(key.origin, key.path),
      requestHeaders: snapshotHeaders(key.headers),
      variant: variantKey(value.vary),
      meta,
      deleteAt: value.deleteAt
    }
  }

  /**
   * Removes every stored variant of `origin` + `path` (any method).
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   */
  delete (key) {
    key = readResourceKey(key)
    binding.sqliteStoreDelete(this.#handle, resourceKey(key.origin, key.path))
  }

  /** Removes every entry (in every process sharing the file). */
  clear () {
    binding.sqliteStoreClear(this.#handle)
    this.#forgetAll()
  }

  /** Drops every memoised response (the rows are gone or out of reach). */
  #forgetAll () {
    this.#memo.clear()
    this.#known.clear()
    this.#bodyBytes = 0
    this.#bodiesHeld = 0
    this.#refused = 0
    this.#heldHits = 0
  }

  /** Reclaims entries past their `deleteAt` now (writes also do it); returns how many. */
  purgeExpired () {
    return binding.sqliteStorePurge(this.#handle, Date.now())
  }

  /**
   * Returns free pages to the file system and truncates the write-ahead log;
   * returns the number of pages released. Writes do the former by themselves
   * when more than a quarter of the file is free.
   */
  compact () {
    return binding.sqliteStoreCompact(this.#handle)
  }

  /**
   * `{ hits, misses, writes, evictions, expired, size, count, hitRatio }`:
   * `size` (body bytes) and `count` are the file's; the counters are this
   * object's.
   */
  stats () {
    const s = binding.sqliteStoreStats(this.#handle)
    const lookups = this.#hits + this.#misses
    return {
      hits: this.#hits,
      misses: this.#misses,
      writes: s[STATS.writes],
      evictions: s[STATS.evictions],
      expired: s[STATS.expired],
      size: s[STATS.size],
      count: s[STATS.count],
      hitRatio: lookups === 0 ? 0 : this.#hits / lookups
    }
  }
}

module.exports = { SqliteCacheStore }
