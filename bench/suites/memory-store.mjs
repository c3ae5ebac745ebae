// MemoryCacheStore vs undici's MemoryCacheStore (and lru-cache for hit ratio),
// same process, interleaved rounds. Workloads: bench/workload.mjs
// (protocol: docs/ARCHITECTURE.md, "Benchmarks").
import { createRequire } from 'node:module'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { interleave, interleaveAsync, summarize, settleGc } from '../measure.mjs'
import { cacheKey, cacheValue, writeEntry, zipf } from '../workload.mjs'

const require = createRequire(import.meta.url)
const { MemoryCacheStore } = require('../../index.js')
const binding = require('../../binding.js')
const undici = require('undici')
const { LRUCache } = require('lru-cache')
const UndiciStore = undici.cacheStores.MemoryCacheStore

export const name = 'memory-store'

function getHit () {
  const N = 10_000
  const body = Buffer.alloc(16 * 1024, 7)
  const limits = { maxCount: 20_000, maxSize: 1e9, maxEntrySize: 1e6 }
  const ours = new MemoryCacheStore(limits)
  const peer = new UndiciStore(limits)
  const keys = []
  for (let i = 0; i < N; i++) {
    const key = cacheKey(i)
    keys.push(key)
    writeEntry(ours, key, cacheValue(body.length), body)
    writeEntry(peer, key, cacheValue(body.length), body)
  }
  if (ours.count !== N || !ours.get(keys[5])) throw new Error('setup failed')
  // Each key object is presented fresh, as undici's interceptor builds one per request.
  const fresh = (k) => ({ origin: k.origin, method: k.method, path: k.path, headers: k.headers })
  const r = interleave(
    (i) => ours.get(fresh(keys[i % N])),
    (i) => peer.get(fresh(keys[i % N])),
    { rounds: 5, batch: 2000, batches: 50, warmup: 5 }
  )
  return { row: 'store get-hit (10k entries, vary, 16 KB)', unit: 'ns', ...r, peerName: 'undici MemoryCacheStore', target: 0.4, better: 'lower' }
}

async function write () {
  const body = Buffer.alloc(16 * 1024, 7)
  const limits = { maxCount: 2_000, maxSize: 1e9, maxEntrySize: 1e6 }
  const ours = new MemoryCacheStore(limits)
  const peer = new UndiciStore(limits)
  const value = cacheValue(body.length)
  const keys = Array.from({ length: 1000 }, (_, i) => cacheKey(i))
  const r = await interleaveAsync(
    (i) => writeEntry(ours, keys[i % 1000], value, body),
    (i) => writeEntry(peer, keys[i % 1000], value, body),
    { rounds: 5, batch: 100, batches: 100, warmup: 10 }
  )
  return { row: 'store write (createWriteStream + 16 KB + end)', unit: 'ns', ...r, peerName: 'undici MemoryCacheStore', target: 0.5, better: 'lower' }
}

// A fresh Buffer per write, as a response read from the network has (the
// row above reuses one Buffer, which flatters allocation and copy costs).
async function writeSteady () {
  const SIZE = 16 * 1024
  const limits = { maxCount: 2_000, maxSize: 1e9, maxEntrySize: 1e6 }
  const ours = new MemoryCacheStore(limits)
  const peer = new UndiciStore(limits)
  const value = cacheValue(SIZE)
  const keys = Array.from({ length: 1000 }, (_, i) => cacheKey(i))
  for (let i = 0; i < 1000; i++) {
    writeEntry(ours, keys[i], value, Buffer.alloc(SIZE, i & 255))
    writeEntry(peer, keys[i], value, Buffer.alloc(SIZE, i & 255))
  }
  const r = await interleaveAsync(
    (i) => writeEntry(ours, keys[i % 1000], value, Buffer.allocUnsafe(SIZE)),
    (i) => writeEntry(peer, keys[i % 1000], value, Buffer.allocUnsafe(SIZE)),
    { rounds: 5, batch: 100, batches: 100, warmup: 10 }
  )
  return { row: 'store write 16 KB, steady state (keys replaced, fresh Buffer per write)', unit: 'ns', ...r, peerName: 'undici MemoryCacheStore', target: 0.5, better: 'lower', note: 'both sides allocate a fresh 16 KB Buffer per write inside the timed loop (Buffer.allocUnsafe)' }
}

// New keys, fresh Buffers, nothing evicted: a store filling up after start.
async function writeColdFill () {
  const SIZE = 16 * 1024
  const opts = { rounds: 3, batch: 50, batches: 40, warmup: 4 }
  const writes = opts.rounds * opts.batch * (opts.batches + opts.warmup)
  const limits = { maxCount: writes + 10, maxSize: 1e10, maxEntrySize: 1e6 }
  const ours = new MemoryCacheStore(limits)
  const peer = new UndiciStore(limits)
  const value = cacheValue(SIZE)
  const keys = Array.from({ length: writes }, (_, i) => cacheKey(i))
  let o = 0
  let p = 0
  const r = await interleaveAsync(
    () => writeEntry(ours, keys[o++], value, Buffer.allocUnsafe(SIZE)),
    () => writeEntry(peer, keys[p++], value, Buffer.allocUnsafe(SIZE)),
    opts
  )
  if (ours.count !== writes) throw new Error(`cold fill: ${ours.count} of ${writes} stored`)
  return { row: 'store write 16 KB, cold fill (new keys, fresh Buffer per write)', unit: 'ns', ...r, peerName: 'undici MemoryCacheStore', target: 1.0, better: 'lower', note: `${writes} new keys per side, no eviction` }
}

// get, and on a miss write: the shape of a cache in front of an origin. The
// event loop turns every 64 requests, as a server's does between requests.
async function overLimit (store, keys, requests, draw) {
  const body = Buffer.alloc(512, 1)
  const value = cacheValue(body.length)
  const writeTimes = []
  let hits = 0
  for (let n = 0; n < requests; n++) {
    if ((n & 63) === 0) await new Promise((resolve) => setImmediate(resolve))
    const key = keys[draw()]
    if (store.get(key) !== undefined) {
      hits++
      continue
    }
    const t0 = process.hrtime.bigint()
    writeEntry(store, key, value, body)
    writeTimes.push(Number(process.hrtime.bigint() - t0))
  }
  return { hits, writes: summarize(writeTimes) }
}

async function zipfRows () {
  const KEYS = 100_000
  const CAP = 10_000
  const REQUESTS = 300_000
  const keys = Array.from({ length: KEYS }, (_, i) => cacheKey(i))
  const ours = new MemoryCacheStore({ maxCount: CAP, maxSize: 1e9 })
  const o = await overLimit(ours, keys, REQUESTS, zipf(KEYS, 0.9, 42))
  if (ours.count > CAP) throw new Error(`cap not enforced: ${ours.count}`)

  // lru-cache 11 at the same cap: the LRU reference for hit ratio.
  const lru = new LRUCache({ max: CAP })
  const draw = zipf(KEYS, 0.9, 42)
  let lruHits = 0
  for (let n = 0; n < REQUESTS; n++) {
    const k = draw()
    if (lru.get(k) !== undefined) lruHits++
    else lru.set(k, 1)
  }

  // undici: its eviction halves each path's variant list, which with one
  // variant per path removes nothing, and walks every entry on each write past
  // the cap; fewer requests keep the run short.
  const UREQ = 30_000
  const peer = new UndiciStore({ maxCount: CAP, maxSize: 1e9 })
  const u = await overLimit(peer, keys, UREQ, zipf(KEYS, 0.9, 42))

  // The same workload with room for every key: writes that never evict, the
  // reference the over-limit p99 is held to (≤ 2× this).
  const roomy = new MemoryCacheStore({ maxCount: KEYS, maxSize: 1e9 })
  const under = await overLimit(roomy, keys, REQUESTS, zipf(KEYS, 0.9, 42))
  const peerRoomy = new UndiciStore({ maxCount: KEYS, maxSize: 1e9 })
  const underPeer = await overLimit(peerRoomy, keys, UREQ, zipf(KEYS, 0.9, 42))
  let undiciCount = 0
  for (let i = 0; i < KEYS; i++) if (peer.get(keys[i]) !== undefined) undiciCount++

  return [
    { row: 'over-limit write p50 (100k keys, Zipf 0.9, cap 10k)', unit: 'ns', ours: o.writes.p50, peer: u.writes.p50, peerName: 'undici MemoryCacheStore', target: 1.0, better: 'lower' },
    { row: 'over-limit write p99', unit: 'ns', ours: o.writes.p99, peer: u.writes.p99, peerName: 'undici MemoryCacheStore', target: 2 * under.writes.p99, absolute: true, better: 'lower', note: `target: 2× our under-limit write p99 of the same run (${(under.writes.p99 / 1e3).toFixed(1)} µs)` },
    { row: 'under-limit write p99 (same workload, cap 100k)', unit: 'ns', ours: under.writes.p99, peer: underPeer.writes.p99, peerName: `undici MemoryCacheStore (${UREQ / 1000}k requests)`, better: 'lower' },
    { row: 'over-limit write max', unit: 'ns', ours: o.writes.max, peer: u.writes.max, peerName: 'undici MemoryCacheStore', better: 'lower' },
    { row: 'hit ratio at cap 10k (Zipf 0.9)', unit: 'ratio', ours: o.hits / REQUESTS, peer: lruHits / REQUESTS, peerName: 'lru-cache 11 (same cap)', target: 1.0, better: 'higher' },
    { row: 'entries kept at maxCount 10k', unit: 'entries', ours: ours.count, peer: undiciCount, peerName: `undici MemoryCacheStore (after ${UREQ / 1000}k requests)`, better: 'lower', note: 'undici does not enforce maxCount with one variant per path' }
  ]
}

// Memory: each store in a fresh child process (RSS does not shrink back after
// a peer's run, so sharing a process would bill one for the other).
function memoryChild (which) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--memory-child', which], { execArgv: ['--expose-gc'] })
    child.on('message', resolve)
    child.on('error', reject)
    child.on('exit', (code) => code !== 0 && reject(new Error(`memory child exited ${code}`)))
  })
}

async function memoryMeasure (which) {
  const N = 100_000
  const BODY = 2048
  const Store = which === 'ours' ? MemoryCacheStore : UndiciStore
  const keys = Array.from({ length: N }, (_, i) => cacheKey(i))
  const value = cacheValue(BODY)
  await settleGc()
  const before = process.memoryUsage()
  const store = new Store({ maxCount: N, maxSize: 1e9 })
  for (let i = 0; i < N; i++) {
    // A fresh body per response, as a network read produces; the event loop
    // turns as a server's does, so finished streams are released.
    const body = Buffer.alloc(BODY, i & 255)
    writeEntry(store, keys[i], value, body)
    if ((i & 1023) === 0) await new Promise((resolve) => setImmediate(resolve))
  }
  await settleGc()
  const after = process.memoryUsage()
  if (store.get(keys[N - 1]) === undefined) throw new Error('memory: entry missing')
  return { heap: after.heapUsed - before.heapUsed, rss: after.rss - before.rss, payload: N * BODY }
}

function floor () {
  const r = interleave(() => binding.noop(), () => {}, { rounds: 3, batch: 10_000, batches: 50, warmup: 5 })
  return { row: 'no-op N-API call (floor)', unit: 'ns', ours: r.ours, peer: null, peerName: 'empty JS function', note: `empty JS function: ${r.peer.toFixed(1)} ns` }
}

export default async function run () {
  const rows = [getHit(), await write(), await writeSteady(), await writeColdFill(), ...(await zipfRows())]
  const o = await memoryChild('ours')
  const p = await memoryChild('peer')
  const MiB = 1024 * 1024
  rows.push(
    { row: 'memory: V8 heap after 100k × 2 KB', unit: 'MiB', ours: o.heap / MiB, peer: p.heap / MiB, peerName: 'undici MemoryCacheStore', target: 5, absolute: true, better: 'lower' },
    { row: 'memory: RSS / payload after 100k × 2 KB', unit: '×', ours: o.rss / o.payload, peer: p.rss / p.payload, peerName: 'undici MemoryCacheStore', target: 1.25, absolute: true, better: 'lower' }
  )
  rows.push(floor())
  return rows
}

if (process.argv[2] === '--memory-child') {
  memoryMeasure(process.argv[3]).then((r) => { process.send(r); process.disconnect() })
}
