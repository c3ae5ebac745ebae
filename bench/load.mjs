// `npm run load`: 4 worker threads hammering one shared store (bench script, not CI).
//
//   node bench/load.mjs                      (needs a release build: npm run build)
//
// Runs 1: MemoryCacheStore({ name }) — one process-wide store, a handle per worker;
//      2: SqliteCacheStore on one temp file, a connection per worker.
// Each worker does a seeded mix of get / createWriteStream+end / delete / stats over a
// shared key space for LOAD_SECONDS (default 60) and records each op's latency in a
// perf_hooks histogram (ns). Workers verify every hit is the body written for its key
// and that size/count never exceed the limits. A watchdog in the main thread fails the
// run when a worker reports no progress for LOAD_WATCHDOG seconds (default 10): a
// deadlock or livelock in the store.
// After the workers exit, the main thread reads back every key of the key space and
// checks the store's count and byte size equal what is really stored.
//
// Env: LOAD_SECONDS, LOAD_WORKERS (4), LOAD_ONLY=memory,sqlite, LOAD_WATCHDOG.
// Writes bench/results/load.json. Exit code 1 on any violation.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { createHistogram } from 'node:perf_hooks'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { rng as prng } from './workload.mjs'
import { machineMeta } from './measure.mjs'

const require = createRequire(import.meta.url)
const { MemoryCacheStore, SqliteCacheStore } = require('../index.js')

const OPS = ['get', 'write', 'delete', 'stats']
const KEYS = 4000
const MIN_BODY = 256
const MAX_BODY = 16 * 1024 // below SqliteCacheStore's 256 KiB async threshold: every get is synchronous
const LIMITS = { maxSize: 16e6, maxCount: 1500, maxEntrySize: MAX_BODY } // ~34 MB of bodies across the key space: both limits bind

const now = Date.now()
const key = (k) => ({ origin: 'http://load.test', method: 'GET', path: `/k/${k}`, headers: {} })
const value = () => ({ statusCode: 200, statusMessage: 'OK', headers: { 'content-type': 'text/plain' }, cachedAt: now, staleAt: now + 3600e3, deleteAt: now + 7200e3 })
// Body bytes held: SqliteCacheStore's `size` counts rows (as undici's), its bytes are in stats().
const bytesOf = (store) => store instanceof SqliteCacheStore ? store.stats().size : store.size

function open (kind, where) {
  return kind === 'memory'
    ? new MemoryCacheStore({ ...LIMITS, name: where })
    : new SqliteCacheStore({ ...LIMITS, location: where })
}

if (!isMainThread) {
  // ---- worker ----
  const { kind, where, seconds, seed, id } = workerData
  const store = open(kind, where)
  const r = prng(seed)
  const hist = Object.fromEntries(OPS.map((op) => [op, createHistogram()]))
  const counts = Object.fromEntries(OPS.map((op) => [op, 0]))
  const problems = []
  const chunk = Buffer.alloc(MAX_BODY, id + 1)
  let hits = 0
  let stop = false
  // Start together: every worker has opened the store before any starts its clock.
  await new Promise((resolve) => {
    parentPort.on('message', (m) => {
      if (m === 'go') resolve()
      if (m === 'stop') stop = true
    })
    parentPort.postMessage({ ready: true })
  })
  const deadline = performance.now() + seconds * 1000
  let lastReport = performance.now()
  const turn = () => new Promise((resolve) => setImmediate(resolve))
  while (!stop && performance.now() < deadline) {
    for (let i = 0; i < 200; i++) {
      const k = Math.floor(r() * KEYS)
      const x = r()
      let op
      const t0 = process.hrtime.bigint()
      if (x < 0.55) {
        op = 'get'
        const hit = store.get(key(k))
        if (hit !== undefined) {
          hits++
          const b = hit.body[0]
          if (b.readUInt32LE(0) !== k) problems.push(`get(/k/${k}) returned the body of /k/${b.readUInt32LE(0)}`)
        }
      } else if (x < 0.85) {
        op = 'write'
        const len = MIN_BODY + Math.floor(r() * (MAX_BODY - MIN_BODY + 1))
        const b = Buffer.from(chunk.subarray(0, len))
        b.writeUInt32LE(k, 0)
        store.createWriteStream(key(k), value()).end(b)
      } else if (x < 0.97) {
        op = 'delete'
        store.delete(key(k))
      } else {
        op = 'stats'
        const s = store.stats()
        if (s.size > LIMITS.maxSize || s.count > LIMITS.maxCount) problems.push(`stats(): ${s.size} B / ${s.count} entries over the limits`)
      }
      const dt = Number(process.hrtime.bigint() - t0)
      hist[op].record(dt > 0 ? dt : 1)
      counts[op]++
    }
    const size = bytesOf(store)
    const count = store.count
    if (size > LIMITS.maxSize || count > LIMITS.maxCount) problems.push(`${size} B / ${count} entries over the limits`)
    if (problems.length > 100) break
    if (performance.now() - lastReport > 250) {
      parentPort.postMessage({ progress: counts.get + counts.write + counts.delete + counts.stats })
      lastReport = performance.now()
    }
    await turn()
  }
  if (kind === 'sqlite') store.close()
  parentPort.postMessage({ done: true, counts, hits, problems, hist })
  parentPort.unref() // (its 'message' listener would keep the worker alive)
} else {
  // ---- main ----
  const here = fileURLToPath(new URL('.', import.meta.url))
  const seconds = Number(process.env.LOAD_SECONDS ?? 60)
  const nWorkers = Number(process.env.LOAD_WORKERS ?? 4)
  const watchdog = Number(process.env.LOAD_WATCHDOG ?? 10)
  const only = (process.env.LOAD_ONLY ?? 'memory,sqlite').split(',')
  const violations = []
  const runs = {}

  /** Reads back every key: the entries and bytes really stored. */
  function readBack (store) {
    let count = 0
    let size = 0
    for (let k = 0; k < KEYS; k++) {
      const hit = store.get(key(k))
      if (hit === undefined) continue
      if (hit instanceof Promise) throw new Error('unexpected async get')
      count++
      for (const b of hit.body) size += b.length
      if (hit.body[0].readUInt32LE(0) !== k) violations.push(`read back /k/${k}: body of /k/${hit.body[0].readUInt32LE(0)}`)
    }
    return { count, size }
  }

  async function run (kind) {
    let dir = null
    const where = kind === 'memory' ? `load-${process.pid}` : join((dir = mkdtempSync(join(tmpdir(), 'ferrocache-load-'))), 'cache.db')
    const main = open(kind, where) // keeps the named store alive, and reads it back after
    const label = kind === 'memory' ? 'MemoryCacheStore({ name })' : 'SqliteCacheStore (file, one connection per worker)'
    console.log(`${label}: ${nWorkers} workers × ${seconds} s ...`)
    const merged = Object.fromEntries(OPS.map((op) => [op, createHistogram()]))
    const counts = Object.fromEntries(OPS.map((op) => [op, 0]))
    let hits = 0
    const lastSeen = new Array(nWorkers).fill(performance.now())
    const progress = new Array(nWorkers).fill(0)
    const workers = []
    let stalled = null
    const finished = []
    const done = new Array(nWorkers).fill(false)
    const exited = new Array(nWorkers).fill(false)
    let ready = 0
    let t0 = 0
    for (let i = 0; i < nWorkers; i++) {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: { kind, where, seconds, seed: 1000 + i, id: i } })
      workers.push(w)
      finished.push(new Promise((resolve, reject) => {
        w.on('message', (m) => {
          lastSeen[i] = performance.now()
          if (m.ready && ++ready === nWorkers) {
            t0 = performance.now()
            lastSeen.fill(t0)
            for (const x of workers) x.postMessage('go')
          }
          if (m.progress !== undefined) progress[i] = m.progress
          if (m.done) {
            done[i] = true
            for (const op of OPS) {
              merged[op].add(m.hist[op])
              counts[op] += m.counts[op]
            }
            hits += m.hits
            for (const p of m.problems) violations.push(`${label}: worker ${i}: ${p}`)
          }
        })
        w.on('error', reject)
        w.on('exit', (code) => {
          exited[i] = true
          if (code !== 0 && stalled === null) violations.push(`${label}: worker ${i} exited with ${code}`)
          resolve()
        })
      }))
    }
    // Watchdog: every worker must report progress at least every `watchdog` seconds.
    const timer = setInterval(() => {
      const t = performance.now()
      for (let i = 0; i < nWorkers; i++) {
        // (before 'go', the allowance covers starting a worker and loading the addon)
        // (after 'done', the same allowance for the worker to exit)
        const allowance = ready < nWorkers ? 60_000 : watchdog * 1000
        if (!exited[i] && t - lastSeen[i] > allowance && stalled === null) {
          stalled = `${label}: worker ${i} ${done[i] ? 'did not exit' : 'made no progress'} for ${allowance / 1000} s (at ${progress[i]} ops): deadlock?`
          violations.push(stalled)
          console.log(stalled)
          for (const w of workers) w.terminate()
        }
      }
    }, 500)
    await Promise.all(finished)
    clearInterval(timer)
    const elapsed = (performance.now() - t0) / 1000
    const total = OPS.reduce((n, op) => n + counts[op], 0)

    const stats = main.stats()
    const reported = { size: bytesOf(main), count: main.count, statsSize: stats.size, statsCount: stats.count }
    const actual = readBack(main)
    const accountingExact = reported.size === actual.size && reported.count === actual.count &&
      reported.statsSize === actual.size && reported.statsCount === actual.count
    if (!accountingExact) violations.push(`${label}: store reports ${reported.size} B / ${reported.count} entries (stats ${reported.statsSize} / ${reported.statsCount}), read back ${actual.size} B / ${actual.count}`)
    if (actual.size > LIMITS.maxSize || actual.count > LIMITS.maxCount) violations.push(`${label}: ${actual.size} B / ${actual.count} entries over the limits`)
    if (kind === 'sqlite') main.close()
    if (dir !== null) rmSync(dir, { recursive: true, force: true })

    const latency = {}
    for (const op of OPS) {
      const h = merged[op]
      latency[op] = { count: h.count, p50: h.percentile(50), p99: h.percentile(99), p999: h.percentile(99.9), max: h.max, mean: h.mean }
    }
    const all = createHistogram()
    for (const op of OPS) all.add(merged[op])
    latency.all = { count: all.count, p50: all.percentile(50), p99: all.percentile(99), p999: all.percentile(99.9), max: all.max, mean: all.mean }
    const res = { workers: nWorkers, seconds: elapsed, ops: total, opsPerSecond: total / elapsed, counts, getHitRatio: counts.get === 0 ? 0 : hits / counts.get, latencyNs: latency, stats, reported, readBack: actual, accountingExact, stalled }
    runs[label] = res
    const us = (ns) => (ns / 1000).toFixed(ns < 1e4 ? 2 : 1)
    console.log(`  ${total} ops in ${elapsed.toFixed(1)} s = ${Math.round(res.opsPerSecond).toLocaleString('en-US')} ops/s; get hit ratio ${res.getHitRatio.toFixed(3)}; evictions ${stats.evictions}`)
    console.log('  op      count      p50 µs   p99 µs  p99.9 µs   max µs')
    for (const op of [...OPS, 'all']) {
      const l = latency[op]
      console.log(`  ${op.padEnd(6)} ${String(l.count).padStart(9)} ${us(l.p50).padStart(9)} ${us(l.p99).padStart(8)} ${us(l.p999).padStart(9)} ${us(l.max).padStart(8)}`)
    }
    console.log(`  accounting: store ${reported.size} B / ${reported.count} entries, read back ${actual.size} B / ${actual.count}: ${accountingExact ? 'exact' : '**MISMATCH**'}`)
  }

  for (const kind of ['memory', 'sqlite']) if (only.includes(kind)) await run(kind)

  const meta = {
    ...machineMeta(),
    keys: KEYS,
    bodyBytes: [MIN_BODY, MAX_BODY],
    limits: LIMITS,
    mix: { get: 0.55, write: 0.30, delete: 0.12, stats: 0.03 },
    watchdogSeconds: watchdog
  }
  mkdirSync(join(here, 'results'), { recursive: true })
  writeFileSync(join(here, 'results', 'load.json'), JSON.stringify({ meta, violations, runs }, null, 2) + '\n')
  console.log('wrote bench/results/load.json')
  if (violations.length > 0) {
    console.log(`\n${violations.length} violation(s):`)
    for (const v of violations.slice(0, 20)) console.log(`  ${v}`)
    process.exitCode = 1
  }
}
