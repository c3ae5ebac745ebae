'use strict'

// `ferrocache/vsf`: a Vue Storefront 2 SSR cache driver (for
// `@vue-storefront/cache` 2.8) over a native tag-indexed page cache.
//
//   driver: ['ferrocache/vsf', { maxSize: 512e6, ttl: 86400 }]
//
// The module loads drivers with `require(resolved).default(options)`, so the
// factory is exported as `default` (and as `createVsfDriver`).
//
// Pages live in Rust (`store::pages`): key -> (JSON bytes, tags, expiry) with
// exact LRU limits and a tag index. The parsed content of pages that were hit
// is memoised here per key together with the page id it came from, under a
// byte budget (`memoSize`). A memoised hit makes no call into Rust when the
// cache has removed no page since this driver last checked that one: Rust
// counts removals into a Float64Array this driver reads (`pageCacheWatch`),
// and the page's expiry is remembered with it. The hit is then reported with
// the next call, or in a batch of 16 (`pageCacheTouchMany`), which marks the
// page used and counts the hit. Otherwise the hit is one call with the page id
// (a number, cheaper to pass than the key) that checks the page is still live.
// Ids are never reused, so a memo entry can never serve a replaced or removed
// page. Each hit gets a shallow copy of the content.

const binding = require('../binding.js')
const { pageStats: STATS } = require('./wire.js')
const { escaped, utf8Key } = require('./store-entry.js')
const redisTier = require('./vsf-redis.js')

const DEFAULT_MAX_SIZE = 256 * 1024 * 1024 // 256 MiB
const DEFAULT_MEMO_SIZE = 64 * 1024 * 1024 // 64 MiB of JSON text
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const WHERE = 'ferrocache/vsf'

function typeName (v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

function assertSize (opts, name, fallback) {
  const v = opts[name]
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'number') {
    throw new TypeError(`${WHERE} options.${name} must be a number, got ${typeName(v)}`)
  }
  if (Number.isNaN(v) || v < 0 || (Number.isFinite(v) && !Number.isInteger(v))) {
    throw new RangeError(`${WHERE} options.${name} must be a non-negative integer or Infinity, got ${v}`)
  }
  return v
}

function assertSeconds (opts, name) {
  const v = opts[name]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number') {
    throw new TypeError(`${WHERE} options.${name} must be a number of seconds, got ${typeName(v)}`)
  }
  if (Number.isNaN(v) || v <= 0) {
    throw new RangeError(`${WHERE} options.${name} must be a positive number of seconds (or Infinity), got ${v}`)
  }
  return v
}

function readOptions (opts) {
  if (opts === undefined || opts === null) opts = {}
  if (typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${WHERE} options must be an object, got ${typeName(opts)}`)
  }
  const maxSize = assertSize(opts, 'maxSize', DEFAULT_MAX_SIZE)
  const maxCount = assertSize(opts, 'maxCount', Infinity)
  const memoSize = assertSize(opts, 'memoSize', DEFAULT_MEMO_SIZE)
  let ttl = assertSeconds(opts, 'ttl')
  // `defaultTimeout` is what @vue-storefront/redis-cache (redis-tag-cache)
  // calls the same setting; accepted so a config can switch drivers as is.
  const defaultTimeout = assertSeconds(opts, 'defaultTimeout')
  if (ttl !== undefined && defaultTimeout !== undefined) {
    throw new TypeError(`${WHERE} options.ttl and options.defaultTimeout are the same setting: give one`)
  }
  ttl = ttl ?? defaultTimeout
  const keyPrefix = opts.keyPrefix ?? ''
  if (typeof keyPrefix !== 'string') {
    throw new TypeError(`${WHERE} options.keyPrefix must be a string, got ${typeName(keyPrefix)}`)
  }
  const invalidatedHeader = opts.invalidatedHeader ?? null
  if (invalidatedHeader !== null) {
    if (typeof invalidatedHeader !== 'string') {
      throw new TypeError(`${WHERE} options.invalidatedHeader must be a string, got ${typeName(invalidatedHeader)}`)
    }
    if (!HEADER_NAME.test(invalidatedHeader)) {
      throw new RangeError(`${WHERE} options.invalidatedHeader must be a valid HTTP header name, got '${invalidatedHeader}'`)
    }
  }
  const onError = opts.onError ?? null
  if (onError !== null && typeof onError !== 'function') {
    throw new TypeError(`${WHERE} options.onError must be a function, got ${typeName(onError)}`)
  }
  const name = opts.name
  if (name !== undefined && (typeof name !== 'string' || name.length === 0)) {
    throw new TypeError(`${WHERE} options.name must be a non-empty string, got ${typeName(name)}`)
  }
  const redis = redisTier.readRedisOptions(opts.redis)
  if (redis !== null && name !== undefined) {
    // Each driver keeps the tag versions of the pages it put in L1; drivers
    // sharing one named L1 would not know each other's.
    throw new TypeError(`${WHERE} options.name cannot be combined with options.redis (one L1 per driver when pages are shared through Redis)`)
  }
  return { maxSize, maxCount, memoSize, ttl, keyPrefix, invalidatedHeader, onError, name, redis }
}

/** A copy for one caller: hits must not see each other's changes to the top level. */
function copyOf (value) {
  if (value === null || typeof value !== 'object') return value
  return Array.isArray(value) ? value.slice() : { ...value }
}

function assertTags (tags, what) {
  if (!Array.isArray(tags)) {
    return new TypeError(`${WHERE}: ${what} must be an array of strings, got ${typeName(tags)}`)
  }
  for (let i = 0; i < tags.length; i++) {
    if (typeof tags[i] !== 'string') {
      return new TypeError(`${WHERE}: ${what}[${i}] must be a string, got ${typeName(tags[i])}`)
    }
  }
  return null
}

/** The argument object of invalidate()/invalidateAll() (`{}` when omitted). */
function assertArgs (args, what) {
  if (args === undefined) return {}
  if (args === null || typeof args !== 'object') {
    throw new TypeError(`${WHERE}: ${what} expects an object, got ${typeName(args)}`)
  }
  return args
}

// Rust holds keys as UTF-8, where every lone surrogate would become U+FFFD
// (so '\uD800' and '\uDBFF' would be one key): keys that are not well-formed
// are escaped behind a '!', which no length-prefixed key starts with.
function cacheKey (prefix, key) {
  return utf8Key(prefix + key)
}
// Tags likewise, except that a tag may start with '!': a tag that is not
// well-formed or starts with '!' is escaped behind a '!', so every tag keeps
// its own name in Rust ('\uD800', '\uDBFF' and '\uFFFD' are three tags).
function tagName (tag) {
  return tag.isWellFormed() && tag.charCodeAt(0) !== 0x21 ? tag : escaped(tag)
}
function tagNames (tags) {
  let out = tags
  for (let i = 0; i < tags.length; i++) {
    const name = tagName(tags[i])
    if (name !== tags[i]) {
      if (out === tags) out = tags.slice()
      out[i] = name
    }
  }
  return out
}

function defaultOnError (err) {
  process.emitWarning(err.message, { code: 'FERROCACHE_VSF_NOT_CACHED' })
}

/**
 * The page cache driver. Methods are bound, so `const { invoke } = driver`
 * works as with the Redis driver's plain object.
 */
// Drivers holding memo hits not yet reported to Rust; flushed at the end of
// the turn (one unref'd immediate for all of them) and on thread exit.
const pendingHits = new Set()
let flushDriver
let flushScheduled = false
function flushPendingHits () {
  flushScheduled = false
  const now = Date.now()
  for (const d of pendingHits) flushDriver(d, now)
  pendingHits.clear()
}
function unreported (driver) {
  pendingHits.add(driver)
  if (!flushScheduled) {
    flushScheduled = true
    setImmediate(flushPendingHits).unref()
  }
}
process.on('exit', flushPendingHits)

class VsfPageCache {
  #handle
  #ttlMs
  #keyPrefix
  #label // the key prefix as given, for messages
  #invalidatedHeader
  #onError
  #memoSize
  #memoBytes = 0
  /** key -> { id, value, bytes } */
  #memo = new Map()
  /** page id -> key, for the memo entries */
  #memoKeys = new Map()
  /** key -> Promise<{ content, json, parsed }> of the render under way */
  #inflight = new Map()
  /** [pages the cache has removed so far], kept current by Rust */
  #removals
  /** ids of memo hits not yet reported to Rust */
  #touched = new Float64Array(16)
  #touchedCount = 0
  /** The Redis tier (lib/vsf-redis.js), or null. */
  #shared = null
  /** Its native handle, for the hit path. */
  #tierHandle = null
  #renders = 0
  #coalescedWaits = 0

  constructor (options) {
    const o = readOptions(options)
    this.#ttlMs = o.ttl === undefined ? Infinity : o.ttl * 1000
    // Length-prefixed, so drivers sharing a named cache with different
    // prefixes never meet: prefix 'a' + key 'bc' is '1:abc', prefix 'ab' +
    // key 'c' is '2:abc'.
    this.#label = o.keyPrefix
    this.#keyPrefix = o.keyPrefix.length + ':' + o.keyPrefix
    this.#invalidatedHeader = o.invalidatedHeader
    this.#onError = o.onError ?? defaultOnError
    this.#memoSize = o.memoSize
    this.maxSize = o.maxSize
    this.maxCount = o.maxCount
    this.ttl = o.ttl
    try {
      this.#handle = binding.pageCacheOpen(o.maxSize, o.maxCount, o.name)
    } catch (err) {
      // A named page cache exists with other limits.
      throw new RangeError(`${WHERE}: ${err.message}`)
    }
    this.#removals = binding.pageCacheWatch(this.#handle)
    if (o.redis !== null) {
      this.#shared = new redisTier.SharedPages(this.#handle, o.redis)
      this.#tierHandle = this.#shared.handle
    }
    this.invoke = this.invoke.bind(this)
    this.invalidate = this.invalidate.bind(this)
    this.invalidateAll = this.invalidateAll.bind(this)
  }

  /**
   * @param {{ key?: string, route?: string, context?: unknown,
   *   render: () => unknown, getTags: () => string[] }} args
   * @returns {Promise<unknown>} the cached content on a hit, else what `render()` resolved to
   */
  invoke (args) {
    // Every failure is a rejection, never a synchronous throw (a key the
    // native side refuses, a panic turned into an Error, a throwing getter).
    try {
      return this.#invoke(args)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #invoke (args) {
    if (args === null || typeof args !== 'object') {
      return Promise.reject(new TypeError(`${WHERE}: invoke() expects an object, got ${typeName(args)}`))
    }
    const { key, route, render, getTags } = args
    // `mk`: the key within this driver (the memo's key: a JS Map takes any
    // string); `k`: the cache-wide key Rust holds, built only when needed.
    let mk
    if (key !== undefined && key !== null) {
      if (typeof key !== 'string') {
        return Promise.reject(new TypeError(`${WHERE}: invoke() key must be a string, got ${typeName(key)}`))
      }
      mk = key
    } else {
      if (typeof route !== 'string') {
        return Promise.reject(new TypeError(`${WHERE}: invoke() needs a string key or route, got route ${typeName(route)}`))
      }
      mk = 'page:' + route
    }
    const m = this.#memo.get(mk)
    // With the Redis tier, L1 pages are also checked against the tag versions
    // (one call per hit, memoised or not; a stale page is removed when met):
    // an invalidation elsewhere moves no removal counter here.
    const tier = this.#tierHandle
    if (m !== undefined) {
      if (tier === null) {
        const seen = this.#removals[0]
        // Expiry belongs to the page (on a named cache another driver may have
        // stored it with its own ttl): the clock is read for pages that expire.
        if (m.seen === seen && (m.expiresAt === Infinity || m.expiresAt > Date.now())) {
          this.#touch(m.id)
          return Promise.resolve(copyOf(m.value))
        }
        const now = Date.now()
        this.#flush(now)
        if (binding.pageCacheTouch(this.#handle, m.id, now)) {
          m.seen = seen
          return Promise.resolve(copyOf(m.value))
        }
      } else if (binding.vsfRedisTouch(tier, m.id, Date.now())) {
        return Promise.resolve(copyOf(m.value))
      }
      this.#drop(mk, m)
    }
    const k = cacheKey(this.#keyPrefix, mk)
    const now = Date.now()
    this.#flush(now)
    const seen = this.#removals[0]
    const id = tier === null ? binding.pageCacheGet(this.#handle, k, now) : binding.vsfRedisGet(tier, k, now)
    if (id >= 0) {
      const json = binding.pageCacheContent(this.#handle, id)
      if (json !== null) return Promise.resolve(copyOf(this.#remember(mk, id, json, seen)))
    }
    if (typeof render !== 'function') {
      return Promise.reject(new TypeError(`${WHERE}: invoke() render must be a function, got ${typeName(render)}`))
    }
    if (typeof getTags !== 'function') {
      return Promise.reject(new TypeError(`${WHERE}: invoke() getTags must be a function, got ${typeName(getTags)}`))
    }
    const running = this.#inflight.get(k)
    if (running !== undefined) return this.#wait(running, render)
    const label = key ?? 'page:' + route
    if (this.#shared !== null) return this.#leadShared(k, render, getTags, label, cacheKey('', this.#label + label))
    return this.#lead(k, render, getTags, label)
  }

  /**
   * Reports memo hits to Rust in batches (marks the pages used, counts the
   * hits): when the batch is full, before any other call of this driver, at
   * the end of the event-loop turn, and when the thread exits, so no hit is
   * lost from `stats()` (a worker that serves hits and exits still counts).
   */
  #touch (id) {
    if (this.#touchedCount === 0) unreported(this)
    this.#touched[this.#touchedCount++] = id
    if (this.#touchedCount === this.#touched.length) this.#flush(Date.now())
  }

  #flush (now) {
    if (this.#touchedCount === 0) return
    const n = this.#touchedCount
    this.#touchedCount = 0
    binding.pageCacheTouchMany(this.#handle, this.#touched, n, now)
  }

  static {
    flushDriver = (driver, now) => driver.#flush(now)
  }

  #remember (k, id, json, seen) {
    const value = JSON.parse(json)
    const bytes = json.length
    if (bytes > this.#memoSize) return value
    const old = this.#memo.get(k)
    if (old !== undefined) this.#drop(k, old)
    this.#memoBytes += bytes
    // `seen`: the removal count read before the page was looked up.
    const expiresAt = binding.pageCacheExpiresAt(this.#handle, id)
    this.#memo.set(k, { id, value, bytes, seen, expiresAt })
    this.#memoKeys.set(id, k)
    // Oldest first (Map keeps insertion order).
    for (const [key, m] of this.#memo) {
      if (this.#memoBytes <= this.#memoSize) break
      this.#drop(key, m)
    }
    return value
  }

  #drop (k, m) {
    this.#memo.delete(k)
    this.#memoKeys.delete(m.id)
    this.#memoBytes -= m.bytes
  }

  /** Drops the memo entries of pages Rust removed (`ids[from..]`). */
  #forget (ids, from) {
    if (this.#memo.size === 0) return
    for (let i = from; i < ids.length; i++) {
      const k = this.#memoKeys.get(ids[i])
      if (k !== undefined) this.#drop(k, this.#memo.get(k))
    }
  }

  /**
   * A request that arrived while the same key renders: it shares the result
   * when that result is cacheable (tagged: it would have been a hit a moment
   * later), and renders for itself when it is not (an untagged page may be
   * personal). A failed render rejects every waiter with its error.
   */
  async #wait (running, render) {
    const shared = await running
    if (shared.json === undefined) {
      this.#renders++
      return render()
    }
    this.#coalescedWaits++
    if (shared.parsed === undefined) shared.parsed = JSON.parse(shared.json)
    return copyOf(shared.parsed)
  }

  async #lead (k, render, getTags, label) {
    let settle
    const running = new Promise((resolve, reject) => { settle = { resolve, reject } })
    // Waiters attach their own handlers; this one keeps a failed render with
    // no waiters from becoming an unhandled rejection.
    running.catch(() => {})
    this.#inflight.set(k, running)
    // A render that overlaps an invalidation (by any thread sharing the
    // cache) is served but not stored.
    const generation = binding.pageCacheGeneration(this.#handle)
    try {
      this.#renders++
      const content = await render()
      const json = this.#store(k, content, getTags, generation, this.#label + label)
      settle.resolve({ content, json, parsed: undefined })
      return content
    } catch (err) {
      settle.reject(err)
      throw err
    } finally {
      if (this.#inflight.get(k) === running) this.#inflight.delete(k)
    }
  }

  /**
   * `#lead` with the Redis tier: the page is looked up in Redis first (one
   * round trip that also takes the page's lock on a miss); another instance
   * rendering it is waited for (up to `lockTimeout`); a render is stored in
   * L1 and Redis. Redis failures never fail the request: it renders.
   */
  async #leadShared (k, render, getTags, label, rk) {
    let settle
    const running = new Promise((resolve, reject) => { settle = { resolve, reject } })
    running.catch(() => {})
    this.#inflight.set(k, running)
    let token = null
    try {
      let [outcome, json, id, lock] = await this.#shared.fetch(k, rk)
      if (outcome === redisTier.WAIT) {
        [outcome, json, id] = await this.#shared.await(k, rk)
        if (outcome === redisTier.HIT) this.#coalescedWaits++
      }
      if (outcome === redisTier.HIT) {
        json = json.toString() // a Buffer over the value read from Redis
        const parsed = id >= 0 ? this.#remember(label, id, json, this.#removals[0]) : JSON.parse(json)
        settle.resolve({ content: undefined, json, parsed })
        return copyOf(parsed)
      }
      token = lock ?? null
      const generation = this.#shared.generation()
      this.#renders++
      const content = await render()
      const stored = this.#store(k, content, getTags, generation, this.#label + label, rk, token)
      token = null // #store released it
      settle.resolve({ content, json: stored, parsed: undefined })
      return content
    } catch (err) {
      settle.reject(err)
      throw err
    } finally {
      if (token !== null) this.#shared.release(rk, token)
      if (this.#inflight.get(k) === running) this.#inflight.delete(k)
    }
  }

  /**
   * Stores a rendered page; returns its JSON, or undefined when not cached.
   * A page whose render began before an invalidation that finished meanwhile
   * may hold what was just invalidated: it is served but not stored.
   */
  #store (k, content, getTags, generation, label, rk, token) {
    const lock = { token: token ?? null }
    const json = this.#serialise(k, content, getTags, generation, label, rk, lock)
    // Not handed to Redis (untagged, not serialisable): wake the waiters.
    if (lock.token !== null) this.#shared.release(rk, lock.token)
    return json
  }

  #serialise (k, content, getTags, generation, label, rk, lock) {
    let tags
    try {
      tags = getTags()
    } catch (err) {
      this.#report(err)
      return undefined
    }
    const bad = assertTags(tags, 'getTags()')
    if (bad !== null) {
      this.#report(bad)
      return undefined
    }
    // As the Redis driver: a page no component tagged is not cached.
    if (tags.length === 0) return undefined
    let json
    try {
      json = JSON.stringify(content)
    } catch (err) {
      this.#report(new TypeError(`${WHERE}: rendered content of '${label}' is not serialisable to JSON, not cached: ${err.message}`))
      return undefined
    }
    if (json === undefined) {
      this.#report(new TypeError(`${WHERE}: render() of '${label}' resolved to ${typeName(content)}, not cached`))
      return undefined
    }
    const now = Date.now()
    this.#flush(now)
    const names = tagNames(tags)
    const out = this.#shared === null
      ? binding.pageCacheInsert(this.#handle, k, json, names, now + this.#ttlMs, now, generation)
      : this.#shared.store(k, rk, json, names, now + this.#ttlMs, now, generation, lock.token)
    if (lock !== undefined) lock.token = null // the store releases it
    if (out.length > 1) this.#forget(out, 1)
    if (out[0] === -2) return undefined // invalidated while rendering
    return json
  }

  #report (err) {
    try {
      this.#onError(err)
    } catch {
      // A throwing error callback must not fail the request.
    }
  }

  #respond (response, count) {
    const name = this.#invalidatedHeader
    if (name === null || response === null || typeof response !== 'object') return
    if (response.headersSent || typeof response.setHeader !== 'function') return
    response.setHeader(name, String(count))
  }

  /**
   * Drops every page carrying any of `tags`; a `'*'` tag drops every page.
   * @returns {Promise<number>} how many pages were dropped
   */
  async invalidate (args) {
    const { response, tags } = assertArgs(args, 'invalidate()')
    const bad = assertTags(tags, 'invalidate() tags')
    if (bad !== null) throw bad
    this.#flush(Date.now())
    let count
    if (this.#shared !== null) {
      count = tags.includes('*') ? await this.#clearShared() : await this.#invalidateShared(tagNames(tags))
    } else if (tags.includes('*')) {
      count = this.#clear()
    } else {
      const out = binding.pageCacheInvalidate(this.#handle, tagNames(tags), this.#memo.size > 0)
      count = out[0]
      if (out.length > 1) this.#forget(out, 1)
    }
    this.#respond(response, count)
    return count
  }

  /**
   * Drops every page.
   * @returns {Promise<number>} how many pages were dropped
   */
  async invalidateAll (args) {
    const { response } = assertArgs(args, 'invalidateAll()')
    const count = this.#shared !== null ? await this.#clearShared() : this.#clear()
    this.#respond(response, count)
    return count
  }

  /**
   * Raises the tags' versions in Redis, which broadcasts them to every
   * instance: pages carrying them are found stale wherever they are read
   * next. Resolves to the pages of this L1 carrying them. When Redis cannot
   * be reached the pages are dropped here, the invalidation is replayed once
   * Redis is back, and the promise rejects (the module answers 500, so the
   * caller can retry).
   */
  async #invalidateShared (tags) {
    const out = await this.#shared.invalidate(tags)
    if (out.length > 1) this.#forget(out, 1)
    return out[0]
  }

  async #clearShared () {
    this.#memo.clear()
    this.#memoKeys.clear()
    this.#memoBytes = 0
    return this.#shared.invalidateAll()
  }

  #clear () {
    this.#flush(Date.now())
    this.#memo.clear()
    this.#memoKeys.clear()
    this.#memoBytes = 0
    return binding.pageCacheClear(this.#handle)
  }

  /**
   * Drops the page cached for `route` (as `invoke` keys it); true if there was
   * one. A render of that route under way (in any thread) is not stored.
   */
  delete (route) {
    if (typeof route !== 'string') {
      throw new TypeError(`${WHERE}: delete() route must be a string, got ${typeName(route)}`)
    }
    this.#flush(Date.now())
    if (this.#shared !== null) this.#shared.delete(cacheKey('', this.#label + 'page:' + route))
    const id = binding.pageCacheDelete(this.#handle, cacheKey(this.#keyPrefix, 'page:' + route))
    if (id >= 0) this.#forget([id], 0)
    return id >= 0
  }

  /** Drops pages past their ttl now (inserts and lookups also do it); returns how many. */
  purgeExpired () {
    const now = Date.now()
    this.#flush(now)
    const ids = binding.pageCachePurge(this.#handle, now)
    this.#forget(ids, 0)
    return ids.length
  }

  /** Cache-wide counters. */
  stats () {
    this.#flush(Date.now())
    const s = binding.pageCacheStats(this.#handle)
    const lookups = s[STATS.hits] + s[STATS.misses]
    return {
      hits: s[STATS.hits],
      misses: s[STATS.misses],
      inserts: s[STATS.inserts],
      evictions: s[STATS.evictions],
      expired: s[STATS.expired],
      invalidated: s[STATS.invalidated],
      size: s[STATS.size],
      count: s[STATS.count],
      tags: s[STATS.tags],
      hitRatio: lookups === 0 ? 0 : s[STATS.hits] / lookups,
      renders: this.#renders,
      coalescedWaits: this.#coalescedWaits,
      ...(this.#shared === null
        ? { l2Hits: 0, invalidationsReceived: 0, redisErrors: 0 }
        : this.#shared.stats())
    }
  }

  /**
   * Stops using Redis (unsubscribes; nothing keeps the process alive after it).
   * Without `redis`, nothing to do. The L1 stays usable.
   */
  async close () {
    if (this.#shared !== null) await this.#shared.close()
  }
}

/**
 * The driver factory `@vue-storefront/cache` calls with the options given in
 * `nuxt.config.js`.
 * @param {import('../vsf').VsfDriverOptions} [options]
 */
function createVsfDriver (options) {
  return new VsfPageCache(options)
}

module.exports = { default: createVsfDriver, createVsfDriver, VsfPageCache }
