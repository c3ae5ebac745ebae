'use strict'

const binding = require('../binding.js')
const port = require('./redis-port.js')
const { assertKeyObject, assertKeyFields, readCacheKey, readResourceKey, assertCacheValue, assertLimit, cannotKeep } = require('./validate.js')
const { variantKey, compileVary, selects } = require('./vary.js')
const { EntryWriter, STORE_GONE, getResult } = require('./store-entry.js')

// RFC 9110 §5.6.2 token: what a request method may consist of.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Control characters the variant-key encoding uses as separators.
const RESERVED = /[\u0000-\u0002]/
const URL_SCHEME = /^(rediss?|redis\+unix|unix):\/\//

const DEFAULT_KEY_PREFIX = 'ferrocache:'
const DEFAULT_L1 = { maxSize: 64 * 1024 * 1024, maxCount: 10000 }
const DEFAULT_MAX_ENTRY_SIZE = 5242880 // 5 MiB, as the memory store
const DEFAULT_COMMAND_TIMEOUT = 250

const kCommit = Symbol('commit')
const kAbort = Symbol('abort')
const kAppend = Symbol('append')

const noop = () => {}

/**
 * Every request header as one variant-key string (the encoding of
 * lib/vary.js#variantKey, names sorted), so the write script can tell which
 * stored variants the writing request would have been served. Headers holding
 * the encoding's separators are left out (no valid header can hold them).
 * One pass over the caller's object: each value is read once (as a snapshot
 * would), nothing is copied but the output.
 */
function encodeRequest (headers) {
  if (headers == null) return ''
  const fields = []
  for (const name in headers) {
    if (RESERVED.test(name)) continue
    const v = headers[name]
    if (typeof v === 'string') {
      if (!RESERVED.test(v)) fields.push(name, 's' + v)
    } else if (Array.isArray(v)) {
      const a = Array.prototype.slice.call(v)
      if (a.every((x) => typeof x === 'string' && !RESERVED.test(x))) fields.push(name, a.length === 0 ? 'e' : 'a' + a.join('\u0002'))
    }
  }
  const n = fields.length / 2
  const order = Array.from({ length: n }, (_, i) => i)
  // The order of Array.prototype.sort on the names (UTF-16 code units), as variantKey.
  order.sort((x, y) => (fields[2 * x] < fields[2 * y] ? -1 : fields[2 * x] > fields[2 * y] ? 1 : 0))
  let out = ''
  for (let i = 0; i < n; i++) {
    if (i > 0) out += '\u0001'
    out += fields[2 * order[i]] + '\u0000' + fields[2 * order[i] + 1]
  }
  return out
}

/** Writable returned by createWriteStream: chunks are copied into Rust; the
 * final callback runs when Redis acknowledged the write (or it failed). */
class RedisWriter extends EntryWriter {
  constructor (store, maxEntrySize, key, variant, meta, value) {
    super(maxEntrySize)
    this.store = store
    this.key = key
    this.request = encodeRequest(key.headers)
    this.variant = variant
    this.meta = meta
    this.deleteAt = value.deleteAt
  }

  _append (writer, chunk) {
    return this.store[kAppend](writer, chunk)
  }

  _release (writer) {
    this.store[kAbort](writer)
  }

  _final (callback) {
    this.store[kCommit](this, this.takeWriter()).then(() => callback(), () => callback())
  }
}

function readUrls (opts) {
  const url = opts.url
  const urls = Array.isArray(url) ? url : [url]
  if (urls.length === 0 || urls.some((u) => typeof u !== 'string' || !URL_SCHEME.test(u))) {
    throw new TypeError('RedisCacheStore options.url must be a redis:// or rediss:// URL string (or an array of them for a Cluster)')
  }
  return urls.slice()
}

function readL1 (l1) {
  if (l1 === undefined) return DEFAULT_L1
  if (l1 === false) return null
  if (typeof l1 !== 'object' || l1 === null) {
    throw new TypeError('RedisCacheStore options.l1 must be an object ({ maxSize, maxCount }) or false')
  }
  return {
    maxSize: assertLimit(l1, 'maxSize', 'RedisCacheStore l1') ?? DEFAULT_L1.maxSize,
    maxCount: assertLimit(l1, 'maxCount', 'RedisCacheStore l1') ?? DEFAULT_L1.maxCount
  }
}

/**
 * An undici `CacheStore` on Redis, shared by every instance of an app, with
 * an optional in-process tier (L1: our memory store core) that pub/sub keeps
 * coherent. `get` answers an L1 hit synchronously and otherwise returns a
 * Promise (undici's interceptor accepts both); when Redis is down or hung it
 * answers a miss within `commandTimeout`, then at once until Redis is back.
 * See docs/redis-store.md.
 */
class RedisCacheStore {
  #handle
  #owner
  #hasL1
  #maxEntrySize = DEFAULT_MAX_ENTRY_SIZE
  #errorCallback = noop
  #name
  #closed = false
  #memo = new Map()
  #touch = 0
  // resource id → the Promise of the last write/delete of it from this
  // object: later operations on the resource wait for it (read your writes,
  // writes in order).
  #inflight = new Map()

  constructor (opts) {
    if (typeof opts !== 'object' || opts === null) {
      throw new TypeError('RedisCacheStore options must be an object with a url')
    }
    const urls = readUrls(opts)
    const cluster = opts.cluster ?? false
    if (typeof cluster !== 'boolean') throw new TypeError('RedisCacheStore options.cluster must be a boolean')
    const keyPrefix = opts.keyPrefix ?? DEFAULT_KEY_PREFIX
    if (typeof keyPrefix !== 'string') throw new TypeError('RedisCacheStore options.keyPrefix must be a string')
    const l1 = readL1(opts.l1)
    this.#maxEntrySize = assertLimit(opts, 'maxEntrySize', 'RedisCacheStore') ?? this.#maxEntrySize
    const commandTimeout = opts.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT
    if (typeof commandTimeout !== 'number' || !(commandTimeout > 0) || commandTimeout === Infinity) {
      throw new TypeError('RedisCacheStore options.commandTimeout must be a positive number of milliseconds')
    }
    if (opts.errorCallback !== undefined) {
      if (typeof opts.errorCallback !== 'function') {
        throw new TypeError('RedisCacheStore options.errorCallback must be a function')
      }
      this.#errorCallback = opts.errorCallback
    }
    if (opts.name !== undefined) {
      if (typeof opts.name !== 'string' || opts.name.length === 0) {
        throw new TypeError('RedisCacheStore options.name must be a non-empty string')
      }
      this.#name = opts.name
    }
    let opened
    try {
      opened = binding.redisStoreOpen(urls, cluster, commandTimeout, keyPrefix,
        l1 === null ? -1 : l1.maxSize, l1 === null ? 0 : l1.maxCount, this.#maxEntrySize, this.#name)
    } catch (err) {
      if (err.code === 'InvalidArg') throw new TypeError(`RedisCacheStore options.url: ${err.message}`)
      throw new RangeError(err.message)
    }
    this.#handle = opened[0]
    this.#owner = opened[1]
    this.#hasL1 = l1 !== null
  }

  /** The process-wide store this object is a handle to, if opened by name. */
  get name () { return this.#name }

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
    if (this.#closed) return undefined
    if (this.#inflight.size !== 0) {
      const pending = this.#inflight.get(origin.length + ':' + origin + path)
      if (pending !== undefined) {
        return pending.then(() => this.get({ origin, path, method, headers }))
      }
    }
    const found = binding.redisStoreLookup(this.#handle, method, origin, path, this.#touch, Date.now())
    this.#touch = 0
    if (found === -1) return this.#fetch(method, origin, path, headers)
    if (found === -2) return undefined // Redis is off the request path: a miss now
    let m
    if (typeof found === 'number') {
      m = this.#memo.get(found) ?? this.#materialize(found)
      if (m === undefined || !selects(m.select, headers)) {
        this.#touch = -0.5
        return this.#fetch(method, origin, path, headers)
      }
      this.#touch = found
    } else {
      if (found[0] === 1) this.#forget(binding.redisStoreRemoved(this.#handle))
      for (let i = 1; i < found.length; i++) {
        const c = this.#memo.get(found[i]) ?? this.#materialize(found[i])
        if (c !== undefined && selects(c.select, headers)) {
          m = c
          break
        }
      }
      if (m === undefined) {
        if (found.length === 2) this.#touch = -0.5
        return this.#fetch(method, origin, path, headers)
      }
      this.#touch = found.length === 2 ? m.id : -m.id
    }
    return getResult(m, m.body)
  }

  #fetch (method, origin, path, headers) {
    const handle = this.#handle
    const now = Date.now()
    return port.call((id) => binding.redisStoreFetch(handle, id, method, origin, path, now)).then((parts) => {
      // (The store may have been closed while the read was in flight: then
      // its handle is gone and nothing is recorded.)
      const open = !this.#closed
      if (open && this.#memo.size !== 0) this.#forget(binding.redisStoreRemoved(this.#handle))
      for (let i = 0; i < parts.length; i += 2) {
        const m = parse(parts[i], parts[i + 1], 0)
        if (selects(m.select, headers)) {
          if (open) binding.redisStoreRecord(this.#handle, true)
          return getResult(m, m.body)
        }
      }
      if (open) binding.redisStoreRecord(this.#handle, false)
      return undefined
    }, (err) => {
      this.#reportError(err)
      return undefined
    })
  }

  #materialize (id) {
    const meta = binding.redisStoreMeta(this.#handle, id)
    if (meta === null) return undefined
    const body = binding.redisStoreBody(this.#handle, id)
    if (body === null) return undefined
    const m = parse(meta, body, id)
    this.#memo.set(id, m)
    return m
  }

  /** Drops memoised results of L1 entries that are gone. */
  #forget (ids) {
    const memo = this.#memo
    if (memo.size === 0 || ids.length === 0) return
    if (ids[0] === -1) {
      const known = [...memo.keys()]
      const alive = binding.redisStoreAlive(this.#handle, known)
      for (let j = 0; j < known.length; j++) if (alive[j] === 0) memo.delete(known[j])
      return
    }
    for (let i = 0; i < ids.length; i++) memo.delete(ids[i])
  }

  /**
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   * @param {import('undici/types/cache-interceptor').default.CacheValue} value
   * @returns {Writable | undefined}
   */
  createWriteStream (key, value) {
    key = readCacheKey(key)
    assertCacheValue(value)
    const method = key.method
    if (method !== 'GET' && method !== 'HEAD' && !TOKEN.test(method)) {
      throw new TypeError('expected key.method to be an HTTP method token')
    }
    if (this.#closed) return undefined
    if (cannotKeep(value, Date.now(), Infinity, this.#maxEntrySize, Infinity)) return undefined
    let meta
    try {
      meta = JSON.stringify([value.cachedAt, value.staleAt, value.deleteAt, value.statusCode, value.statusMessage,
        value.headers, value.vary, value.etag, value.cacheControlDirectives])
    } catch (err) {
      throw new TypeError(`expected value to be serialisable (headers, vary, cacheControlDirectives): ${err.message}`)
    }
    return new RedisWriter(this, this.#maxEntrySize, key, variantKey(value.vary), meta, value)
  }

  /** Appends a chunk to a writer; -2 once the store is closed. */
  [kAppend] (writer, chunk) {
    if (this.#closed) return STORE_GONE
    return binding.redisStoreAppend(this.#handle, writer, chunk)
  }

  [kAbort] (writer) {
    if (!this.#closed) binding.redisStoreAbort(this.#handle, writer)
  }

  /** Sends a finished body to Redis (after earlier operations on the resource). */
  [kCommit] (w, writer) {
    const k = w.key
    return this.#sequence(k.origin, k.path, () => {
      if (this.#closed) return undefined
      const handle = this.#handle
      return port.call((id) => binding.redisStoreWrite(handle, id, writer, k.method, k.origin, k.path, w.variant, w.meta,
        w.deleteAt, Date.now(), w.request))
    })
  }

  /**
   * Removes every stored variant of `origin` + `path` (any method), in Redis
   * and in every instance's L1. Resolves when Redis has done it (a failure is
   * reported to `errorCallback`, never thrown).
   * @param {import('undici/types/cache-interceptor').default.CacheKey} key
   */
  delete (key) {
    key = readResourceKey(key)
    return this.#sequence(key.origin, key.path, () => {
      if (this.#closed) return undefined
      const handle = this.#handle
      return port.call((id) => binding.redisStoreDelete(handle, id, key.origin, key.path))
    })
  }

  /**
   * Runs `op` after this object's earlier write/delete of the same resource
   * has settled; errors go to errorCallback. Resolves to undefined.
   */
  #sequence (origin, path, op) {
    const id = origin.length + ':' + origin + path
    const prev = this.#inflight.get(id)
    const run = () => {
      try {
        return op()
      } catch (err) {
        this.#reportError(err)
      }
    }
    const p = (prev === undefined ? Promise.resolve(run()) : prev.then(run))
      .then(noop, (err) => this.#reportError(err))
    this.#inflight.set(id, p)
    p.then(() => {
      if (this.#inflight.get(id) === p) this.#inflight.delete(id)
    })
    return p
  }

  #reportError (err) {
    try {
      this.#errorCallback(err)
    } catch {
      // An errorCallback that throws must not break the request path.
    }
  }

  /** `{ l1Hits, l2Hits, misses, writes, errors, reconnects, l1Size, l1Count }` (store-wide). */
  stats () {
    if (this.#closed) return { l1Hits: 0, l2Hits: 0, misses: 0, writes: 0, errors: 0, reconnects: 0, l1Size: 0, l1Count: 0 }
    const s = binding.redisStoreStats(this.#handle, this.#touch)
    this.#touch = 0
    return { l1Hits: s[0], l2Hits: s[1], misses: s[2], writes: s[3], errors: s[4], reconnects: s[5], l1Size: s[6], l1Count: s[7] }
  }

  /**
   * Waits for this object's pending writes and deletes, then releases its
   * handle (the connection goes with the last store using it). Afterwards
   * `get` misses, `createWriteStream` returns undefined and `delete` does
   * nothing.
   */
  async close () {
    if (this.#closed) return
    await Promise.allSettled([...this.#inflight.values()])
    this.#closed = true
    this.#memo.clear()
    binding.redisStoreClose(this.#owner)
  }
}

/** A stored entry's fields from its metadata JSON and body:
 * [cachedAt, staleAt, deleteAt, statusCode, statusMessage, headers, vary, etag, directives]. */
function parse (meta, body, id) {
  const v = JSON.parse(meta)
  return {
    id,
    statusCode: v[3],
    statusMessage: v[4],
    headers: v[5],
    vary: v[6] ?? undefined,
    select: compileVary(v[6]),
    etag: v[7] ?? undefined,
    cacheControlDirectives: v[8] ?? undefined,
    cachedAt: v[0],
    staleAt: v[1],
    deleteAt: v[2],
    body: body.length === 0 ? null : body
  }
}


module.exports = { RedisCacheStore }
