// Types of `ferrocache/vsf`: a Vue Storefront 2 SSR cache driver for
// `@vue-storefront/cache` 2.8 backed by a native tag-indexed page cache.

export interface VsfDriverOptions {
  /** Bytes of stored pages (JSON content + key + tag names). Default 256 MiB. `Infinity`: no limit. */
  maxSize?: number
  /** Pages kept at most. Default `Infinity`. */
  maxCount?: number
  /** Seconds a page is served after it was stored. Default: until invalidated or evicted. */
  ttl?: number
  /** `@vue-storefront/redis-cache`'s name for `ttl` (seconds); give one of the two. */
  defaultTimeout?: number
  /** Prepended to every key (`${keyPrefix}page:${route}`). Default `''`. */
  keyPrefix?: string
  /** Bytes of JSON whose parsed content is kept in JS for fast hits. Default 64 MiB; 0 disables. */
  memoSize?: number
  /** When set, `invalidate`/`invalidateAll` set this response header to the number of pages dropped. */
  invalidatedHeader?: string
  /**
   * Called when a rendered page cannot be cached (tags not an array of strings,
   * content not JSON-serialisable, render resolved to undefined, getTags threw).
   * The page is still served. Default: `process.emitWarning` with code
   * `FERROCACHE_VSF_NOT_CACHED`.
   */
  onError?: (err: Error) => void
  /**
   * With `url`: one page cache shared by every instance through Redis (each
   * instance keeps its L1). Without `url` (e.g. `@vue-storefront/redis-cache`'s
   * ioredis options) it is ignored, so such configs load unchanged.
   */
  redis?: VsfRedisOptions | { url?: undefined, [key: string]: unknown }
}

export interface VsfRedisOptions {
  /** `redis://` / `rediss://` URL, or the seed nodes of a Redis Cluster. */
  url: string | string[]
  /** Treat a single URL as a Cluster seed. Default `false` (several URLs: Cluster). */
  cluster?: boolean
  /** Prepended to every Redis key and to the channel. Default `'ferrocache:'`. */
  keyPrefix?: string
  /** Deadline of a Redis call on a request path, ms. Default 50. */
  commandTimeout?: number
  /** Longest time other instances wait for a page's render before rendering themselves, ms. Default 2000. */
  lockTimeout?: number
  /** Redis failures the request survived. Default: `process.emitWarning` (code `FERROCACHE_VSF_REDIS`). */
  onError?: (err: Error) => void
}

export interface VsfInvokeArgs<T = unknown> {
  /** Cache key; default `page:${route}`. */
  key?: string
  route?: string
  context?: unknown
  render: () => T | Promise<T>
  getTags: () => string[]
}

export interface VsfInvalidateArgs {
  request?: unknown
  response?: { setHeader?(name: string, value: string): unknown, headersSent?: boolean } | unknown
  tags: string[]
}

export interface VsfStats {
  hits: number
  misses: number
  inserts: number
  evictions: number
  expired: number
  invalidated: number
  /** Bytes counted against `maxSize`. */
  size: number
  count: number
  /** Distinct tags carried by cached pages. */
  tags: number
  hitRatio: number
  /** Times `render()` was called by the driver. */
  renders: number
  /** Misses served by another request's render (in this instance, or another instance's through Redis). */
  coalescedWaits: number
  /** Pages served from Redis (then kept in L1). 0 without `redis`. */
  l2Hits: number
  /** Invalidation broadcasts received. 0 without `redis`. */
  invalidationsReceived: number
  /** Redis failures (timeouts, errors) reported to `redis.onError`. 0 without `redis`. */
  redisErrors: number
  /** With `redis`: whether Redis is on the request path now (circuit closed). */
  redisAvailable?: boolean
  /** With `redis`: whether the tag versions are loaded (pages from Redis are trusted). */
  redisSynced?: boolean
  /** With `redis`: page writes skipped because 64 were already in flight (the page stays in this L1). */
  redisWritesSkipped?: number
}

export declare class VsfPageCache {
  constructor (options?: VsfDriverOptions)
  readonly maxSize: number
  readonly maxCount: number
  readonly ttl: number | undefined
  /** A hit resolves to a copy of the cached content without calling `render`. */
  invoke<T = unknown> (args: VsfInvokeArgs<T>): Promise<T>
  /** Drops every page carrying any of `tags` (`'*'`: every page); resolves to how many. */
  invalidate (args: VsfInvalidateArgs): Promise<number>
  /** Drops every page; resolves to how many. */
  invalidateAll (args?: Partial<VsfInvalidateArgs>): Promise<number>
  /** Drops the page cached for `route`. */
  delete (route: string): boolean
  /** Drops pages past their ttl now; returns how many. */
  purgeExpired (): number
  stats (): VsfStats
  /** Stops using Redis (nothing keeps the process alive after it); the L1 stays usable. */
  close (): Promise<void>
}

export declare function createVsfDriver (options?: VsfDriverOptions): VsfPageCache
export { createVsfDriver as default }
