// `npm run soak`: insert/evict soak of each store at a 50 MB cap, RSS sampled.
//
//   node --expose-gc bench/soak.mjs              (needs a release build: npm run build)
//
// Per store: N insert cycles with bodies of 1–64 KiB (seeded PRNG) over a key space
// far larger than what fits, so nearly every insert evicts; gets and deletes are
// interleaved. Every SAMPLE_EVERY cycles: a full GC (with --expose-gc), then RSS, V8
// heapUsed, external, arrayBuffers and the store's size/count. The limits are checked
// after every write, and hit bodies are checked to be the ones written for that key.
//
// Env: SOAK_CYCLES (memory store, default 1e6), SOAK_SQLITE_CYCLES (default 500e3),
// SOAK_VSF_CYCLES (default 500e3), SOAK_ONLY=memory,sqlite,vsf, SOAK_MAX_SLOPE (the run
// fails when the RSS slope after warm-up, in MiB per 100k cycles, exceeds it both over the
// whole window and over its second half; default 1), SOAK_RESULT and
// SOAK_SVG (output paths). Writes bench/results/soak.json and bench/soak.svg. Exit code 1 on any violation.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { writeVegaLiteSvg } from './chart.mjs'
import { rng as prng } from './workload.mjs'
import { machineMeta } from './measure.mjs'

const require = createRequire(import.meta.url)
const { MemoryCacheStore, SqliteCacheStore } = require('../index.js')
const { createVsfDriver } = require('../lib/vsf.js')

const here = fileURLToPath(new URL('.', import.meta.url))
const MiB = 1024 * 1024
const MAX_SIZE = 50e6
const MAX_COUNT = 1_000_000
const SAMPLE_EVERY = 10_000
const MIN_BODY = 1024
const MAX_BODY = 64 * 1024
const KEYS = 200_000 // ~6.5 GB of bodies at the mean size: 0.8 % of it fits
const WARMUP = 0.25
const MAX_SLOPE = Number(process.env.SOAK_MAX_SLOPE ?? 1)
const only = (process.env.SOAK_ONLY ?? 'memory,sqlite,vsf').split(',')
const gc = globalThis.gc ?? null

// One random source; each body is a prefix of it with the key number and the cycle
// in its first 8 bytes, so a hit can be checked against the key it was asked for.
const source = Buffer.alloc(MAX_BODY)
{
  const r = prng(7)
  for (let i = 0; i < MAX_BODY; i++) source[i] = Math.floor(r() * 256)
}
function body (k, cycle, len) {
  const b = Buffer.from(source.subarray(0, len)) // a fresh Buffer: the store must copy, not keep ours
  b.writeUInt32LE(k, 0)
  b.writeUInt32LE(cycle, 4)
  return b
}

// Body bytes held: `size` for MemoryCacheStore; SqliteCacheStore's `size` counts rows
// (as undici's does), its bytes are in stats().
const bytesOf = (store) => store instanceof SqliteCacheStore ? store.stats().size : store.size

const turn = () => new Promise((resolve) => setImmediate(resolve))

/** Takes a sample at cycle `c`; every tenth one is printed. */
function record (samples, c, store, label) {
  const s = sample(c, store)
  samples.push(s)
  if (c % (SAMPLE_EVERY * 10) === 0) {
    console.log(`  ${label} ${c}: rss ${(s.rss / MiB).toFixed(1)} MiB, heap ${(s.heapUsed / MiB).toFixed(1)}, external ${(s.external / MiB).toFixed(1)}, store ${(s.storeSize / 1e6).toFixed(1)} MB / ${s.storeCount}`)
  }
}

function sample (cycle, store) {
  if (gc !== null) gc()
  const m = process.memoryUsage()
  return {
    cycle,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    storeSize: bytesOf(store),
    storeCount: store.count
  }
}

/** Least-squares slope of y over x. */
function slope (xs, ys) {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my)
    den += (xs[i] - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

/**
 * Warm-up ends at the first sample taken after the store first filled and after 25 %
 * of the cycles: by then allocator arenas, V8 code and the JS-side memos have reached their
 * working size (SqliteCacheStore's memo of up to 32 768 parsed metadata entries is the
 * slowest: ~120k cycles of this workload).
 * Reports RSS over the rest: min, max, and the least-squares slope in MiB per 100k cycles.
 */
function summarize (samples, cycles, filledAt) {
  const warm = samples.findIndex((s) => s.cycle >= Math.max(filledAt, cycles * WARMUP))
  const after = samples.slice(warm)
  const rss = after.map((s) => s.rss / MiB)
  const slopeRss = slope(after.map((s) => s.cycle / 1e5), rss)
  // A leak grows all along, so both slopes exceed the bound; a one-off step (an allocator
  // or V8 high-water mark) raises only the whole window's, noise only one of them.
  const half = Math.floor(after.length / 2)
  const slopeRssLastHalf = slope(after.slice(half).map((s) => s.cycle / 1e5), rss.slice(half))
  const slopeHeap = slope(after.map((s) => s.cycle / 1e5), after.map((s) => s.heapUsed / MiB))
  const slopeExternal = slope(after.map((s) => s.cycle / 1e5), after.map((s) => s.external / MiB))
  const last = samples[samples.length - 1]
  const q = Math.max(1, Math.floor(rss.length / 4))
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  return {
    warmupEndsAtCycle: after[0].cycle,
    rssMiB: { atWarmup: rss[0], min: Math.min(...rss), max: Math.max(...rss), final: last.rss / MiB, firstQuarterMean: mean(rss.slice(0, q)), lastQuarterMean: mean(rss.slice(-q)) },
    slopeMiBPer100k: { rss: slopeRss, rssLastHalf: slopeRssLastHalf, heapUsed: slopeHeap, external: slopeExternal },
    final: { heapUsedMiB: last.heapUsed / MiB, externalMiB: last.external / MiB, storeSize: last.storeSize, storeCount: last.storeCount },
    flat: slopeRss <= MAX_SLOPE || slopeRssLastHalf <= MAX_SLOPE
  }
}

const now = Date.now()
const value = (len) => ({
  statusCode: 200,
  statusMessage: 'OK',
  headers: { 'content-type': 'application/octet-stream', 'content-length': String(len) },
  cachedAt: now,
  staleAt: now + 3600e3,
  deleteAt: now + 7200e3
})
const key = (k) => ({ origin: 'http://soak.test', method: 'GET', path: `/k/${k}`, headers: {} })

/**
 * One undici-store soak (MemoryCacheStore or SqliteCacheStore): per cycle one write;
 * 50 % of cycles also get a recently written key (mostly hits), 25 % a random key
 * (mostly misses), 5 % delete a recent key.
 */
async function soakUndiciStore (label, store, cycles, violations) {
  const r = prng(1)
  const samples = [sample(0, store)]
  const recent = new Uint32Array(64)
  let filledAt = Infinity
  let hits = 0
  const t0 = performance.now()
  for (let c = 1; c <= cycles; c++) {
    const k = Math.floor(r() * KEYS)
    const len = MIN_BODY + Math.floor(r() * (MAX_BODY - MIN_BODY + 1))
    const ws = store.createWriteStream(key(k), value(len))
    ws.end(body(k, c, len))
    recent[c & 63] = k
    const size = bytesOf(store)
    const count = store.count
    if (size > MAX_SIZE || count > MAX_COUNT) violations.push(`${label}: cycle ${c}: size ${size} count ${count} over the limits`)
    if (filledAt === Infinity && size + MAX_BODY > MAX_SIZE) filledAt = c
    const op = r()
    if (op < 0.75) {
      const gk = op < 0.5 ? recent[Math.floor(r() * 64)] : Math.floor(r() * KEYS)
      let hit = store.get(key(gk))
      if (hit instanceof Promise) hit = await hit
      if (hit !== undefined) {
        hits++
        const b = hit.body[0]
        if (b.readUInt32LE(0) !== gk) violations.push(`${label}: cycle ${c}: get(/k/${gk}) returned the body of /k/${b.readUInt32LE(0)}`)
      }
    } else if (op < 0.8) {
      store.delete(key(recent[Math.floor(r() * 64)]))
    }
    // Let the loop turn: stream callbacks and Buffer finalizers run here, as in a server.
    if (c % 100 === 0) await turn()
    if (c % SAMPLE_EVERY === 0) record(samples, c, store, label)
  }
  const seconds = (performance.now() - t0) / 1000
  const stats = store.stats()
  if (stats.size !== bytesOf(store) || stats.count !== store.count) violations.push(`${label}: stats() ${stats.size} B / ${stats.count} != ${bytesOf(store)} B / ${store.count}`)
  return { cycles, seconds, filledAt, hits, stats, samples }
}

/** The vsf page cache: per cycle one invoke of a random route (a miss renders and stores), invalidations by tag. */
async function soakVsf (cycles, violations) {
  const label = 'vsf'
  const driver = createVsfDriver({ maxSize: MAX_SIZE, maxCount: MAX_COUNT })
  const store = { get size () { return driver.stats().size }, get count () { return driver.stats().count } }
  const r = prng(3)
  const samples = [sample(0, store)]
  let filledAt = Infinity
  let hits = 0
  const t0 = performance.now()
  for (let c = 1; c <= cycles; c++) {
    // A 20 % share of hot routes keeps some hits; the rest are cold.
    const k = r() < 0.2 ? Math.floor(r() * 200) : Math.floor(r() * KEYS)
    const len = MIN_BODY + Math.floor(r() * (MAX_BODY - MIN_BODY + 1))
    let rendered = false
    const page = await driver.invoke({
      route: `/p/${k}`,
      render: async () => { rendered = true; return { k, html: source.toString('latin1', 0, len) } },
      getTags: () => [`P${k}`, `C${k % 1000}`]
    })
    if (page.k !== k) violations.push(`${label}: cycle ${c}: /p/${k} served the page of /p/${page.k}`)
    if (!rendered) hits++
    if (r() < 0.01) await driver.invalidate({ tags: [`C${Math.floor(r() * 1000)}`] })
    const s = driver.stats()
    if (s.size > MAX_SIZE || s.count > MAX_COUNT) violations.push(`${label}: cycle ${c}: size ${s.size} count ${s.count} over the limits`)
    if (filledAt === Infinity && s.size + 2 * MAX_BODY > MAX_SIZE) filledAt = c
    if (c % 100 === 0) await turn()
    if (c % SAMPLE_EVERY === 0) record(samples, c, store, label)
  }
  const seconds = (performance.now() - t0) / 1000
  return { cycles, seconds, filledAt, hits, stats: driver.stats(), samples }
}

const violations = []
const runs = {}
const child = process.env.SOAK_CHILD // set when this file runs one store in a child process
const plan = [
  ['memory', 'MemoryCacheStore', () => soakUndiciStore('MemoryCacheStore', new MemoryCacheStore({ maxSize: MAX_SIZE, maxCount: MAX_COUNT, maxEntrySize: MAX_BODY }), Number(process.env.SOAK_CYCLES ?? 1e6), violations)],
  ['sqlite', 'SqliteCacheStore :memory:', () => soakUndiciStore('SqliteCacheStore', new SqliteCacheStore({ location: ':memory:', maxSize: MAX_SIZE, maxCount: MAX_COUNT }), Number(process.env.SOAK_SQLITE_CYCLES ?? 500e3), violations)],
  ['vsf', 'vsf page cache', () => soakVsf(Number(process.env.SOAK_VSF_CYCLES ?? 500e3), violations)]
]
if (child !== undefined) {
  // One store per process, so each RSS curve starts from a fresh process.
  const [id, label, run] = plan.find(([id]) => id === child)
  console.log(`${label}: soaking ...`)
  const res = await run()
  writeFileSync(process.env.SOAK_OUT, JSON.stringify({ label, res, violations }))
  process.exit(0)
}
if (gc === null) console.log('(no --expose-gc: samples are taken without a full GC first, so heap numbers are noisy)')
const tmp = mkdtempSync(join(tmpdir(), 'ferrocache-soak-'))
for (const [id] of plan) {
  if (!only.includes(id)) continue
  const out = join(tmp, `${id}.json`)
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, SOAK_CHILD: id, SOAK_OUT: out } })
  if (r.status !== 0) {
    violations.push(`${id}: child process failed (status ${r.status}, signal ${r.signal})`)
    continue
  }
  const { label, res, violations: v } = JSON.parse(readFileSync(out, 'utf8'))
  violations.push(...v)
  const summary = summarize(res.samples, res.cycles, res.filledAt)
  runs[label] = { ...res, summary }
  const s = summary
  console.log(`${label}: ${res.cycles} cycles in ${res.seconds.toFixed(1)} s; store full at cycle ${res.filledAt}; warm-up ends at ${s.warmupEndsAtCycle}`)
  console.log(`  RSS after warm-up: min ${s.rssMiB.min.toFixed(1)} MiB, max ${s.rssMiB.max.toFixed(1)} MiB, final ${s.rssMiB.final.toFixed(1)} MiB, mean of first/last quarter ${s.rssMiB.firstQuarterMean.toFixed(1)}/${s.rssMiB.lastQuarterMean.toFixed(1)} MiB; slope ${s.slopeMiBPer100k.rss.toFixed(3)} MiB/100k cycles, over its last half ${s.slopeMiBPer100k.rssLastHalf.toFixed(3)} (heapUsed ${s.slopeMiBPer100k.heapUsed.toFixed(3)}, external ${s.slopeMiBPer100k.external.toFixed(3)})`)
  console.log(`  final: heapUsed ${s.final.heapUsedMiB.toFixed(1)} MiB, external ${s.final.externalMiB.toFixed(1)} MiB, store ${s.final.storeSize} B / ${s.final.storeCount} entries; ${res.hits} hits; ${s.flat ? 'flat' : `**RSS grows** (> ${MAX_SLOPE} MiB/100k)`}`)
  if (!s.flat) violations.push(`${label}: RSS slope ${s.slopeMiBPer100k.rss.toFixed(3)} MiB/100k cycles after warm-up, ${s.slopeMiBPer100k.rssLastHalf.toFixed(3)} over its last half (limit ${MAX_SLOPE})`)
}

rmSync(tmp, { recursive: true, force: true })

const meta = {
  ...machineMeta(),
  gcBeforeSample: gc !== null,
  maxSize: MAX_SIZE,
  maxCount: MAX_COUNT,
  keys: KEYS,
  bodyBytes: [MIN_BODY, MAX_BODY],
  sampleEvery: SAMPLE_EVERY,
  maxSlopeMiBPer100k: MAX_SLOPE
}
mkdirSync(join(here, 'results'), { recursive: true })
const resultPath = process.env.SOAK_RESULT ?? join(here, 'results', 'soak.json')
const svgPath = process.env.SOAK_SVG ?? join(here, 'soak.svg')
writeFileSync(resultPath, JSON.stringify({ meta, violations, runs }, null, 2) + '\n')

const points = []
for (const [label, res] of Object.entries(runs)) {
  for (const s of res.samples) {
    points.push({ store: label, cycle: s.cycle, metric: 'RSS', MiB: s.rss / MiB })
    points.push({ store: label, cycle: s.cycle, metric: 'V8 heapUsed', MiB: s.heapUsed / MiB })
    points.push({ store: label, cycle: s.cycle, metric: 'external', MiB: s.external / MiB })
    points.push({ store: label, cycle: s.cycle, metric: 'store size', MiB: s.storeSize / MiB })
  }
}
await writeVegaLiteSvg({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: `soak: insert/evict cycles at maxSize 50 MB — Node ${meta.node}`,
  data: { values: points },
  facet: { row: { field: 'store', type: 'nominal', title: null } },
  spec: {
    width: 560,
    height: 160,
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'cycle', type: 'quantitative', title: 'insert cycles' },
      y: { field: 'MiB', type: 'quantitative', title: 'MiB' },
      color: { field: 'metric', type: 'nominal', title: null }
    }
  },
  resolve: { scale: { x: 'independent' } }
}, svgPath)
console.log(`wrote ${resultPath}, ${svgPath}`)

if (violations.length > 0) {
  console.log(`\n${violations.length} violation(s):`)
  for (const v of violations.slice(0, 20)) console.log(`  ${v}`)
  process.exitCode = 1
}
