// Hand-written types for ferrocache. The store types mirror undici's
// `types/cache-interceptor.d.ts` structurally, so a `MemoryCacheStore` is
// accepted wherever undici expects its `CacheStore` (checked by
// __test__/types.test.mjs with tsc) without ferrocache depending on undici.

import { EventEmitter } from 'node:events'
import { Writable } from 'node:stream'

export interface CacheControlDirectives {
  'max-stale'?: number
  'min-fresh'?: number
  'max-age'?: number
  's-maxage'?: number
  'stale-while-revalidate'?: number
  'stale-if-error'?: number
  public?: true
  private?: true | string[]
  'no-store'?: true
  'no-cache'?: true | string[]
  'must-revalidate'?: true
  'proxy-revalidate'?: true
  immutable?: true
  'no-transform'?: true
  'must-understand'?: true
  'only-if-cached'?: true
}

export interface CacheKey {
  origin: string
  method: string
  path: string
  headers?: Record<string, string | string[]>
}

export interface CacheValue {
  statusCode: number
  statusMessage: string
  headers: Record<string, string | string[]>
  vary?: Record<string, string | string[] | null>
  etag?: string
  cacheControlDirectives?: CacheControlDirectives
  cachedAt: number
  staleAt: number
  deleteAt: number
}

export interface GetResult {
  statusCode: number
  statusMessage: string
  headers: Record<string, string | string[]>
  vary?: Record<string, string | string[] | null>
  etag?: string
  /** The stored body as Buffers over the cached bytes (no copy). Treat as read-only. */
  body?: Buffer[]
  cacheControlDirectives: CacheControlDirectives
  cachedAt: number
  staleAt: number
  deleteAt: number
}

export interface MemoryCacheStoreOpts {
  /** Sum of body bytes kept. @default 104857600 (100 MiB) */
  maxSize?: number
  /** Number of responses kept. @default 1024 */
  maxCount?: number
  /** Largest body kept, in bytes (a body of exactly this size is kept). @default 5242880 */
  maxEntrySize?: number
  /** Called with errors a write could not report otherwise. */
  errorCallback?: (err: Error) => void
}

export interface MaxSizeExceededEvent {
  size: number
  maxSize: number
  count: number
  maxCount: number
}

export interface CacheStats {
  hits: number
  misses: number
  writes: number
  evictions: number
  expired: number
  /** Bytes of stored bodies. */
  size: number
  /** Stored responses. */
  count: number
  /** hits / (hits + misses), 0 before any lookup. */
  hitRatio: number
}

/**
 * An undici cache store holding responses in Rust memory: true LRU, exact
 * `maxSize`/`maxCount`, bodies returned without copies.
 */
export declare class MemoryCacheStore extends EventEmitter {
  constructor (opts?: MemoryCacheStoreOpts)
  /** Bytes of stored bodies. */
  readonly size: number
  /** Number of stored responses. */
  readonly count: number
  readonly maxSize: number
  readonly maxCount: number
  readonly maxEntrySize: number
  /** At `maxSize` or `maxCount`, or the last write was refused for lack of room. */
  isFull (): boolean
  get (key: CacheKey): GetResult | undefined
  createWriteStream (key: CacheKey, value: CacheValue): Writable | undefined
  /** Removes every stored variant of `origin` + `path` (any method). */
  delete (key: CacheKey): void
  /** Removes every entry. */
  clear (): void
  /** Reclaims entries past their `deleteAt`; returns how many. Writes do this too. */
  purgeExpired (): number
  stats (): CacheStats
  on (event: 'maxSizeExceeded', listener: (info: MaxSizeExceededEvent) => void): this
  on (event: string | symbol, listener: (...args: any[]) => void): this
  once (event: 'maxSizeExceeded', listener: (info: MaxSizeExceededEvent) => void): this
  once (event: string | symbol, listener: (...args: any[]) => void): this
}
