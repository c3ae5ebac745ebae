// Shared timing helpers for bench suites. Every suite measures ours and the
// peer in the same process, interleaved, and reports medians.
import { cpus, loadavg } from 'node:os'

/**
 * Times `fn` in batches and returns per-call nanoseconds: p50/p99 over batches.
 * `fn(i)` gets a running counter so workloads can round-robin.
 * @param {(i: number) => unknown} fn
 * @param {{ batch?: number, batches?: number, warmup?: number }} [opts]
 */
/** When and where a run happened, for the result files. */
export function machineMeta () {
  return {
    date: new Date().toISOString(),
    loadavg: loadavg(),
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    platform: `${process.platform} ${process.arch}`
  }
}

export function timeBatches (fn, { batch = 1000, batches = 200, warmup = 20 } = {}) {
  let i = 0
  let sink = 0
  const samples = []
  for (let b = 0; b < warmup + batches; b++) {
    const t0 = process.hrtime.bigint()
    for (let k = 0; k < batch; k++) {
      if (fn(i++) !== undefined) sink++
    }
    const dt = Number(process.hrtime.bigint() - t0) / batch
    if (b >= warmup) samples.push(dt)
  }
  globalThis.__benchSink = sink
  return summarize(samples)
}

/**
 * As timeBatches, but lets the event loop turn between batches (streams emit
 * 'finish'/'close' on later ticks; a server turns its loop between requests,
 * so a benchmark that never does measures a queue no real process has).
 */
export async function timeBatchesAsync (fn, { batch = 1000, batches = 200, warmup = 20 } = {}) {
  let i = 0
  let sink = 0
  const samples = []
  for (let b = 0; b < warmup + batches; b++) {
    const t0 = process.hrtime.bigint()
    for (let k = 0; k < batch; k++) {
      if (fn(i++) !== undefined) sink++
    }
    const dt = Number(process.hrtime.bigint() - t0) / batch
    if (b >= warmup) samples.push(dt)
    await new Promise((resolve) => setImmediate(resolve))
  }
  globalThis.__benchSink = sink
  return summarize(samples)
}

/** interleave() over timeBatchesAsync. */
export async function interleaveAsync (a, b, { rounds = 5, ...opts } = {}) {
  const ra = []
  const rb = []
  for (let r = 0; r < rounds; r++) {
    ra.push((await timeBatchesAsync(a, opts)).p50)
    rb.push((await timeBatchesAsync(b, opts)).p50)
  }
  return { ours: median(ra), peer: median(rb) }
}

/**
 * Times every call of an async `fn` individually (for latency distributions).
 * @param {(i: number) => Promise<unknown>} fn
 */
export async function timeEachAsync (fn, { calls = 2000, warmup = 200 } = {}) {
  const samples = []
  for (let i = 0; i < warmup + calls; i++) {
    const t0 = process.hrtime.bigint()
    await fn(i)
    const dt = Number(process.hrtime.bigint() - t0)
    if (i >= warmup) samples.push(dt)
  }
  return summarize(samples)
}

/**
 * Runs `a` and `b` alternately for `rounds` rounds (each a timeBatches run) and
 * returns the medians of each side, so drift affects both equally.
 */
export function interleave (a, b, { rounds = 5, ...opts } = {}) {
  const ra = []
  const rb = []
  for (let r = 0; r < rounds; r++) {
    ra.push(timeBatches(a, opts).p50)
    rb.push(timeBatches(b, opts).p50)
  }
  return { ours: median(ra), peer: median(rb) }
}

export function summarize (samples) {
  const s = [...samples].sort((x, y) => x - y)
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return { p50: at(0.5), p99: at(0.99), max: s[s.length - 1], n: s.length }
}

export function median (xs) {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)]
}

/** Full GC (run node with --expose-gc), settled. */
export async function settleGc () {
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.()
    await new Promise((resolve) => setImmediate(resolve))
  }
}
