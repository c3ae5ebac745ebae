// Fixed, seeded workloads of the benchmark protocol (docs/ARCHITECTURE.md, "Benchmarks").

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function rng (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A Zipf(s) sampler over ranks 0..n-1 (rank 0 most popular). */
export function zipf (n, s, seed) {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let k = 0; k < n; k++) {
    sum += 1 / Math.pow(k + 1, s)
    cdf[k] = sum
  }
  for (let k = 0; k < n; k++) cdf[k] /= sum
  const r = rng(seed)
  return () => {
    const u = r()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

export const ORIGIN = 'http://127.0.0.1:3000'

export const requestHeaders = {
  host: '127.0.0.1:3000',
  accept: 'text/html,application/xhtml+xml',
  'accept-encoding': 'gzip, deflate, br',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) ferrocache-bench/1.0',
  cookie: 'session=4f1c2a; theme=dark'
}

/** The realistic cache key for `/products/${i}`. */
export function cacheKey (i) {
  return { origin: ORIGIN, method: 'GET', path: `/products/${i}`, headers: requestHeaders }
}

const DATE = 'Sun, 22 Nov 2026 12:00:00 GMT'

/** The realistic cache value (undici's CacheValue) for a response of `bodyLength` bytes. */
export function cacheValue (bodyLength, now = Date.now()) {
  return {
    statusCode: 200,
    statusMessage: 'OK',
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=300, stale-while-revalidate=60',
      date: DATE,
      etag: '"5f2b-17c0e1a"',
      'last-modified': 'Sat, 21 Nov 2026 08:00:00 GMT',
      vary: 'accept-encoding',
      'content-length': String(bodyLength),
      server: 'origin/1.0'
    },
    vary: { 'accept-encoding': requestHeaders['accept-encoding'] },
    etag: '"5f2b-17c0e1a"',
    cacheControlDirectives: { public: true, 'max-age': 300, 'stale-while-revalidate': 60 },
    cachedAt: now,
    staleAt: now + 300e3,
    deleteAt: now + 360e3
  }
}

/** Writes one response through a store's Writable; resolves when finished. */
export function writeEntry (store, key, value, body) {
  const ws = store.createWriteStream(key, value)
  if (ws === undefined) return
  ws.write(body)
  ws.end()
}
