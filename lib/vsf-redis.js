'use strict'

// The Redis tier of `ferrocache/vsf`: one page cache shared by every
// storefront instance, each keeping its own native L1.
//
//   driver: ['ferrocache/vsf', { maxSize: 512e6, ttl: 86400,
//     redis: { url: process.env.REDIS_URL, keyPrefix: 'shop:' } }]
//
// What is shared, and how instances stay coherent (tag versions, epoch,
// broadcast, resync, herd lock), is in docs/vsf.md ("Multi-instance"). This
// file only validates the options and turns the native calls' outcomes into
// what `lib/vsf.js` needs; the work happens in Rust (`src/redis/pages.rs`).

const binding = require('../binding.js')
const port = require('./redis-port.js')

const WHERE = 'ferrocache/vsf'
const DEFAULT_KEY_PREFIX = 'ferrocache:'
const DEFAULT_COMMAND_TIMEOUT = 50 // ms
const DEFAULT_LOCK_TIMEOUT = 2000 // ms
const MAX_MS = 24 * 3600 * 1000

// Outcomes of `vsfRedisFetch` / `vsfRedisAwait` (src/napi/redis_pages.rs).
const HIT = 0 // a current page: { json, id }
const RENDER = 1 // render it: this request holds the page's lock (token) or no lock is needed
const WAIT = 2 // another instance holds the lock: await its page
const OFFLINE = 3 // Redis is off the path (breaker open, timeout, error): render, L1 only

function typeName (v) {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

function assertMs (r, name, fallback) {
  const v = r[name]
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'number') {
    throw new TypeError(`${WHERE} options.redis.${name} must be a number of milliseconds, got ${typeName(v)}`)
  }
  if (!Number.isInteger(v) || v < 1 || v > MAX_MS) {
    throw new RangeError(`${WHERE} options.redis.${name} must be an integer number of milliseconds from 1 to ${MAX_MS}, got ${v}`)
  }
  return v
}

/**
 * `options.redis`, validated (each field read once). `null` when Redis is not
 * to be used: no `redis`, or a `redis` object without `url` — e.g.
 * @vue-storefront/redis-cache's ioredis options, accepted and ignored as before.
 */
function readRedisOptions (r) {
  if (r === undefined || r === null) return null
  if (typeof r !== 'object' || Array.isArray(r)) {
    throw new TypeError(`${WHERE} options.redis must be an object, got ${typeName(r)}`)
  }
  const url = r.url
  if (url === undefined || url === null) return null
  const urls = Array.isArray(url) ? url.slice() : [url]
  if (urls.length === 0) {
    throw new TypeError(`${WHERE} options.redis.url must be a URL or a non-empty array of URLs, got an empty array`)
  }
  for (const [i, u] of urls.entries()) {
    const field = Array.isArray(url) ? `url[${i}]` : 'url'
    if (typeof u !== 'string') {
      throw new TypeError(`${WHERE} options.redis.${field} must be a string, got ${typeName(u)}`)
    }
    if (!/^rediss?:\/\/./.test(u)) {
      throw new TypeError(`${WHERE} options.redis.${field} must be a redis:// or rediss:// URL, got '${u}'`)
    }
  }
  const cluster = r.cluster ?? false
  if (typeof cluster !== 'boolean') {
    throw new TypeError(`${WHERE} options.redis.cluster must be a boolean, got ${typeName(cluster)}`)
  }
  const keyPrefix = r.keyPrefix ?? DEFAULT_KEY_PREFIX
  if (typeof keyPrefix !== 'string') {
    throw new TypeError(`${WHERE} options.redis.keyPrefix must be a string, got ${typeName(keyPrefix)}`)
  }
  const commandTimeout = assertMs(r, 'commandTimeout', DEFAULT_COMMAND_TIMEOUT)
  const lockTimeout = assertMs(r, 'lockTimeout', DEFAULT_LOCK_TIMEOUT)
  const onError = r.onError ?? null
  if (onError !== null && typeof onError !== 'function') {
    throw new TypeError(`${WHERE} options.redis.onError must be a function, got ${typeName(onError)}`)
  }
  return { urls, cluster, keyPrefix, commandTimeout, lockTimeout, onError }
}

/** `[meta, json]` from the port (src/napi/redis_pages.rs#completion) as `[outcome, json, id, token]`. */
function reply ([meta, json]) {
  const a = meta.indexOf(' ')
  const b = meta.indexOf(' ', a + 1)
  const outcome = Number(meta.slice(0, a))
  const token = meta.slice(b + 1)
  return [outcome, outcome === HIT ? json : null, Number(meta.slice(a + 1, b)), token === '' ? null : token]
}

function defaultOnRedisError (err) {
  process.emitWarning(err.message, { code: 'FERROCACHE_VSF_REDIS' })
}

/** This driver's side of the shared tier: one native handle over the page cache's. */
class SharedPages {
  #handle
  #onError
  constructor (pageHandle, o) {
    this.#onError = o.onError ?? defaultOnRedisError
    const report = (message) => this.report(new Error(`${WHERE}: ${message}`))
    try {
      this.#handle = binding.vsfRedisOpen(pageHandle, o.urls, o.cluster, o.keyPrefix, o.commandTimeout, o.lockTimeout, report)
    } catch (err) {
      throw new TypeError(`${WHERE} options.redis.url: ${err.message}`)
    }
    this.lockTimeout = o.lockTimeout
  }

  report (err) {
    try {
      this.#onError(err)
    } catch {
      // A throwing logger must not fail a request.
    }
  }

  /** The native handle (`vsfRedisGet` / `vsfRedisTouch` on the hit path). */
  get handle () {
    return this.#handle
  }

  /** The generation a render records when it starts. */
  generation () {
    return binding.vsfRedisGeneration(this.#handle)
  }

  /** Resolves to `[outcome, json (Buffer), id, token]`; never rejects. */
  fetch (k, rk) {
    return this.#ask(binding.vsfRedisFetch, k, rk)
  }

  /** Waits for another instance's render of `rk`; resolves like `fetch`. */
  await (k, rk) {
    return this.#ask(binding.vsfRedisAwait, k, rk)
  }

  /** One Redis read through this thread's port; a failure is reported and answers offline. */
  #ask (read, k, rk) {
    const handle = this.#handle
    const now = Date.now()
    return port.call((id) => read(handle, id, k, rk, now)).then(reply, (err) => {
      this.report(err)
      return [OFFLINE, null, -1, null]
    })
  }

  /**
   * Keeps a rendered page in L1 and writes it to Redis in the background
   * (releasing `token`'s lock). Same result as `pageCacheInsert`.
   */
  store (k, rk, json, tags, expiresAt, now, since, token) {
    return binding.vsfRedisStore(this.#handle, k, rk, json, tags, expiresAt, now, since, token ?? '')
  }

  /** Releases the lock of a render that stored nothing, waking the waiters. */
  release (rk, token) {
    if (token) binding.vsfRedisRelease(this.#handle, rk, token)
  }

  /** Resolves to `[pages of this L1 made stale]` once Redis has the new versions (and broadcast them). */
  invalidate (tags) {
    return binding.vsfRedisInvalidate(this.#handle, tags)
  }

  invalidateAll () {
    return binding.vsfRedisInvalidateAll(this.#handle)
  }

  delete (rk) {
    binding.vsfRedisDelete(this.#handle, rk)
  }

  /** `{ l2Hits, invalidationsReceived, redisErrors, redisAvailable, redisSynced, redisWritesSkipped }` */
  stats () {
    const s = binding.vsfRedisStats(this.#handle)
    return { l2Hits: s[0], invalidationsReceived: s[1], redisErrors: s[2], redisAvailable: s[3] === 1, redisSynced: s[4] === 1, redisWritesSkipped: s[5] }
  }

  close () {
    return binding.vsfRedisClose(this.#handle)
  }
}

module.exports = { readRedisOptions, SharedPages, HIT, RENDER, WAIT, OFFLINE }
