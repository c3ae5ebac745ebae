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
  /**
   * Opens the process-wide store of this name: every worker thread that opens
   * it shares one cache. The first opener's limits apply; opening it with
   * other limits throws a RangeError.
   */
  name?: string
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
  /** The shared store's name, if opened with one. */
  readonly name: string | undefined
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

export interface SqliteCacheStoreOpts {
  /** Path of the database file, shared by every process that opens it. @default ':memory:' */
  location?: string
  /** Number of responses kept; the oldest are deleted first. @default Infinity */
  maxCount?: number
  /** Largest body kept, in bytes (a body of exactly this size is kept); at most 2e9. @default 2e9 */
  maxEntrySize?: number
  /** Sum of body bytes kept; the oldest are deleted first. @default Infinity */
  maxSize?: number
}

/**
 * An undici cache store in a SQLite file (bundled SQLite, Node 20+, no `node:sqlite`).
 * Entries survive restarts and are shared by every process that opens the same file.
 */
export declare class SqliteCacheStore {
  constructor (opts?: SqliteCacheStoreOpts)
  readonly location: string
  readonly maxCount: number
  readonly maxEntrySize: number
  readonly maxSize: number
  /** Number of stored responses (as undici's SqliteCacheStore#size). */
  readonly size: number
  /** Number of stored responses. */
  readonly count: number
  /** Closes the database; later calls throw. */
  close (): void
  /** Synchronous, except for bodies over 256 KiB, which are read off the event loop. */
  get (key: CacheKey): GetResult | Promise<GetResult | undefined> | undefined
  createWriteStream (key: CacheKey, value: CacheValue): Writable | undefined
  /** Stores a complete response synchronously (as undici's SqliteCacheStore#set); a body over `maxEntrySize` is not stored. */
  set (key: CacheKey, value: CacheValue & { body?: Uint8Array | Uint8Array[] | null }): void
  /** Removes every stored variant of `origin` + `path` (any method). */
  delete (key: CacheKey): void
  /** Removes every entry (for every process sharing the file). */
  clear (): void
  /** Deletes entries past their `deleteAt`; returns how many. Writes do this too. */
  purgeExpired (): number
  /** Returns free pages to the file system and truncates the WAL; returns pages released. */
  compact (): number
  /** `size` and `count` are the file's; the counters are this object's. */
  stats (): CacheStats
}

export interface RedisCacheStoreOpts {
  /**
   * `redis://` or `rediss://` (TLS) URL; `user:password@` and `/db` are honoured.
   * Several URLs (or `cluster: true`) connect to a Redis Cluster.
   */
  url: string | string[]
  /** Treat `url` as Cluster seed nodes. @default false (true with several URLs) */
  cluster?: boolean
  /** Every key (and the invalidation channel) starts with it. @default 'ferrocache:' */
  keyPrefix?: string
  /** The in-process tier; `false`: none. @default { maxSize: 67108864, maxCount: 10000 } */
  l1?: { maxSize?: number, maxCount?: number } | false
  /** Largest body kept, in bytes (a body of exactly this size is kept). @default 5242880 */
  maxEntrySize?: number
  /** Deadline of every Redis command, ms; past it a get is a miss. @default 250 */
  commandTimeout?: number
  /** Called with every Redis failure (timeouts, dropped writes); never thrown. */
  errorCallback?: (err: Error) => void
  /** Opens the process-wide store of this name: worker threads share one connection and one L1. */
  name?: string
}

export interface RedisCacheStats {
  l1Hits: number
  l2Hits: number
  misses: number
  writes: number
  errors: number
  reconnects: number
  l1Size: number
  l1Count: number
}

/**
 * An undici cache store on Redis shared by every instance, with an optional
 * in-process L1 kept coherent by pub/sub. `get` answers L1 hits synchronously,
 * otherwise a Promise; Redis down or hung is a miss, never an error.
 */
export declare class RedisCacheStore {
  constructor (opts: RedisCacheStoreOpts)
  readonly name: string | undefined
  get (key: CacheKey): GetResult | Promise<GetResult | undefined> | undefined
  createWriteStream (key: CacheKey, value: CacheValue): Writable | undefined
  /** Removes every stored variant of `origin` + `path` (any method) in Redis and every instance's L1. */
  delete (key: CacheKey): Promise<void>
  stats (): RedisCacheStats
  /** Waits for pending writes, then releases the connection (shared ones stay open for their other users). */
  close (): Promise<void>
}

// ---------------------------------------------------------------------------
// CachePolicy — drop-in for npm `http-cache-semantics` 4.3 (same shapes as
// @types/http-cache-semantics, so code typed against it accepts this class).
// ---------------------------------------------------------------------------

export declare namespace CachePolicy {
  interface Headers {
    [header: string]: string | string[] | undefined
  }

  interface HttpRequest {
    url?: string | undefined
    method?: string | undefined
    headers: Headers
  }
  type Request = HttpRequest

  interface HttpResponse {
    status?: number | undefined
    headers: Headers
  }
  type Response = HttpResponse

  interface Options {
    /** Evaluate as a shared (proxy) cache: `private` not stored, `s-maxage` honoured. @default true */
    shared?: boolean | undefined
    /** Fraction of (Date - Last-Modified) used as heuristic lifetime. @default 0.1 */
    cacheHeuristic?: number | undefined
    /** Minimum time to cache `immutable` responses, ms. @default 86400000 */
    immutableMinTimeToLive?: number | undefined
    /** Ignore no-cache/no-store/must-revalidate when pre-check and post-check are present. @default false */
    ignoreCargoCult?: boolean | undefined
  }

  /** `toObject()` output; http-cache-semantics' own serialization format (v: 1). */
  interface CachePolicyObject {
    v: number
    t: number
    sh: boolean
    ch: number
    imm: number
    icc?: boolean | undefined
    st: number
    resh: Headers
    rescc: { [key: string]: string }
    m: string
    u?: string | undefined
    h?: string | undefined
    a: boolean
    reqh: Headers | null
    reqcc: { [key: string]: string }
  }

  interface RevalidationPolicy<P = CachePolicy> {
    /** The updated policy (the same object if stale-if-error applies). */
    policy: P
    /** Whether the body changed (use the new one, or refetch without validators). */
    modified: boolean
    /** Whether the revalidation response selected the stored response. */
    matches: boolean
  }

  interface EvaluateRequestRevalidation {
    /** `true`: wait for the server; `false`: stale-while-revalidate, update in the background. */
    synchronous: boolean
    headers: Headers
  }

  interface EvaluateRequestHitWithoutRevalidationResult {
    response: { headers: Headers, status: number }
    revalidation: undefined
  }

  interface EvaluateRequestHitWithRevalidationResult {
    response: { headers: Headers, status: number }
    revalidation: EvaluateRequestRevalidation
  }

  interface EvaluateRequestMissResult {
    response: undefined
    revalidation: EvaluateRequestRevalidation
  }

  type EvaluateRequestResult =
    | EvaluateRequestHitWithRevalidationResult
    | EvaluateRequestHitWithoutRevalidationResult
    | EvaluateRequestMissResult
}

/** RFC 9111 cache policy of one request/response pair; rules evaluated in Rust. */
export declare class CachePolicy {
  constructor (req: CachePolicy.HttpRequest, res: CachePolicy.HttpResponse, options?: CachePolicy.Options)

  /** Restores a policy from `toObject()` output (also the npm package's); a subclass gets an instance of itself. */
  static fromObject<T extends CachePolicy = CachePolicy> (
    this: new (req: any, res: any, options?: any) => T,
    obj: CachePolicy.CachePolicyObject
  ): T

  /** The current time in ms; override to control the clock. */
  now (): number
  /** `false` if the response can never be cached. */
  storable (): boolean
  /** Whether the cached response serves `newRequest` now without contacting the server. */
  satisfiesWithoutRevalidation (newRequest: CachePolicy.HttpRequest): boolean
  /** How the cache can serve `newRequest`: cached response, revalidation, or both (stale-while-revalidate). */
  evaluateRequest (newRequest: CachePolicy.HttpRequest): CachePolicy.EvaluateRequestResult
  /** Headers to serve: hop-by-hop removed, Age and Date updated. A new object each call. */
  responseHeaders (): CachePolicy.Headers
  /** The stored status code. */
  status (): number
  /** The Date header in ms, or the time the response was received. */
  date (): number
  /** Age in seconds, updated for the current time (may be fractional). */
  age (): number
  /** Freshness lifetime in seconds (counted from Date). */
  maxAge (): number
  /** Ms this entry may still be useful, stale windows included. */
  timeToLive (): number
  /** Past its freshness lifetime. */
  stale (): boolean
  /** Whether stale-while-revalidate allows serving stale now. */
  useStaleWhileRevalidate (): boolean
  /** JSON-able serialization, readable by http-cache-semantics' `fromObject()`. */
  toObject (): CachePolicy.CachePolicyObject
  /** Request headers for revalidating with the origin (If-None-Match / If-Modified-Since). */
  revalidationHeaders (newRequest: CachePolicy.HttpRequest): CachePolicy.Headers
  /** Combines the stored response with a revalidation response. */
  revalidatedPolicy (
    revalidationRequest: CachePolicy.HttpRequest,
    revalidationResponse?: CachePolicy.HttpResponse
  ): CachePolicy.RevalidationPolicy<this>
}

/** A stored response as any store returns it (bodies: Buffers, strings, iterables or a stream). */
export type InterceptorStoredResponse = Omit<GetResult, 'body'> & { body?: unknown }

/** Any undici-compatible cache store; `get` may answer with a Promise (remote stores). */
export interface InterceptorCacheStore {
  get(key: CacheKey): InterceptorStoredResponse | undefined | Promise<InterceptorStoredResponse | undefined>
  createWriteStream(key: CacheKey, value: CacheValue): Writable | undefined
  delete(key: CacheKey): void | Promise<void>
}

/** Options of `interceptors.cache` (undici's names and defaults; see docs/interceptor.md). */
export interface CacheInterceptorOptions {
  /** Default: a new ferrocache `MemoryCacheStore`. */
  store?: InterceptorCacheStore
  /** Safe methods whose responses are stored. Default `['GET']`. */
  methods?: Array<'GET' | 'HEAD' | 'OPTIONS' | 'TRACE'>
  /** Default `'shared'`. */
  type?: 'shared' | 'private'
  /** Seconds of freshness for heuristically cacheable responses without explicit freshness. */
  cacheByDefault?: number
  /** Only requests to these origins are cached. */
  origins?: Array<string | RegExp>
}

/** undici's `Dispatcher['dispatch']`, structurally. */
export type DispatchFunction = (options: any, handler: any) => boolean

/** Dispatcher interceptors: compose with `new Agent().compose(interceptors.cache({...}))`. */
export declare const interceptors: {
  cache(opts?: CacheInterceptorOptions): (dispatch: DispatchFunction) => DispatchFunction
}
