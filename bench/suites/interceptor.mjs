// The cache interceptor end to end: a caching reverse proxy in its own
// process (bench/e2e/interceptor-proxy.mjs), origin and autocannon in another
// (bench/e2e/load.mjs), all on 127.0.0.1. ferrocache's interceptors.cache vs
// undici's, both over ferrocache's MemoryCacheStore, in interleaved rounds
// (ABBA order); and the two interceptors alone, in this process.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { median } from '../measure.mjs'

const require = createRequire(import.meta.url)

export const name = 'interceptor'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const QUICK = process.env.BENCH_QUICK === '1'
const PATHS = 200

const PEER = 'undici interceptors.cache (same store)'

/** `n` rounds in ABBA order (ours first in even rounds, undici first in odd
 * ones), so a drift of the machine's speed during the run favours neither. */
async function abba (n, fn) {
  for (let i = 0; i < n; i++) {
    for (const kind of i % 2 === 0 ? ['ours', 'undici'] : ['undici', 'ours']) await fn(kind)
  }
}

/** A result row: the medians of `f` over each side's rounds. */
function rowOf (rounds, row, unit, f, better, extra = {}) {
  return { row, unit, ours: median(rounds.ours.map(f)), peer: median(rounds.undici.map(f)), peerName: PEER, better, ...extra }
}

async function ask (child, msg) {
  child.send(msg)
  const [reply] = await once(child, 'message')
  return reply
}

async function round (load, origin, kind, { seconds, warm = 0, connections = 32, paths = PATHS, skew, maxCount = 100_000 }) {
  const proxy = fork(here('../e2e/interceptor-proxy.mjs'), [kind, origin, String(maxCount)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ ports }] = await once(proxy, 'message')
  try {
    // Cold: the proxy's first `warm` seconds are measured for origin requests.
    // A herd on a cold catalog: all connections on the same path at once, an origin taking 20 ms.
    const cold = warm > 0 ? await ask(load, { run: { ports, paths: PATHS, seconds: warm, connections, herd: true, originDelay: 20 } }) : null
    const hot = await ask(load, { run: { ports, paths, skew, seconds, connections } })
    const { rss } = await ask(proxy, 'report')
    return { cold, hot, rss }
  } finally {
    proxy.send('exit')
    await once(proxy, 'exit')
  }
}

/**
 * The interceptors alone: in this process, undici `request` through an Agent
 * composed with each interceptor, every request a hit (200 paths, 2 KB bodies,
 * 32 in flight), rounds in ABBA order; µs per request, body read, per round.
 */
async function inProcessHits () {
  const undici = require('undici')
  const ferrocache = require('../../index.js')
  const body = Buffer.alloc(2048, 'x')
  const server = http.createServer((req, res) => {
    res.setHeader('cache-control', 'max-age=3600')
    res.end(body)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const origin = `http://127.0.0.1:${server.address().port}`
  const agents = {
    ours: new undici.Agent().compose(ferrocache.interceptors.cache({ store: new ferrocache.MemoryCacheStore() })),
    undici: new undici.Agent().compose(undici.interceptors.cache({ store: new ferrocache.MemoryCacheStore() }))
  }
  const N = QUICK ? 5_000 : 30_000
  const us = { ours: [], undici: [] }
  try {
    for (const a of Object.values(agents)) {
      for (let i = 0; i < PATHS; i++) await (await undici.request(`${origin}/p${i}`, { dispatcher: a })).body.dump()
    }
    await abba(QUICK ? 2 : 6, async (kind) => {
      const t0 = process.hrtime.bigint()
      let batch = []
      for (let i = 0; i < N; i++) {
        batch.push(undici.request(`${origin}/p${i % PATHS}`, { dispatcher: agents[kind] }).then((res) => res.body.dump()))
        if (batch.length === 32) {
          await Promise.all(batch)
          batch = []
        }
      }
      await Promise.all(batch)
      us[kind].push(Number(process.hrtime.bigint() - t0) / 1000 / N)
    })
  } finally {
    server.close()
    for (const a of Object.values(agents)) await a.close()
  }
  return us
}

export default async function run () {
  const hits = await inProcessHits()
  const load = fork(here('../e2e/load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ origin }] = await once(load, 'message')
  const rows = []
  try {
    const r = { ours: [], undici: [] }
    await abba(QUICK ? 1 : 5, async (kind) => {
      r[kind].push(await round(load, origin, kind, { seconds: QUICK ? 2 : 5, warm: 6 }))
    })
    rows.push(
      rowOf(r, `collapsing: origin requests per unique path, cold proxy (32 connections in step over ${PATHS} paths, origin 20 ms, first 6 s)`,
        'requests/path', (x) => x.cold.originHits / PATHS, 'lower',
        { target: 1.05, absolute: true, note: 'ours collapses concurrent misses for one key into one origin request; undici sends each' }),
      rowOf(r, `caching proxy req/s, hot set of ${PATHS} paths`, 'req/s', (x) => x.hot.reqPerSec, 'higher', { target: 1.2 }),
      rowOf(hits, `interceptor alone: cached request in process (undici request, ${PATHS} paths, 2 KB, 32 in flight)`, 'µs',
        (x) => x, 'lower', { note: 'the proxy rows add an HTTP server and client around each hit; this row is the interceptors\' own share' }),
      rowOf(r, `caching proxy p99 latency, hot set of ${PATHS} paths`, 'ms', (x) => x.hot.p99, 'lower', { target: 1.0 })
    )

    // The e2e suite's large catalog, interceptor against interceptor: 50k paths,
    // Zipf 0.9, the (shared) store capped at 10k entries, interleaved runs.
    const CATALOG_S = QUICK ? 5 : 20
    const big = { ours: [], undici: [] }
    await abba(QUICK ? 1 : 2, async (kind) => {
      big[kind].push(await round(load, origin, kind, { seconds: CATALOG_S, paths: 50_000, skew: 0.9, maxCount: 10_000 }))
    })
    rows.push(
      rowOf(big, `caching proxy req/s, 50k paths Zipf 0.9, store cap 10k (${CATALOG_S} s)`, 'req/s', (x) => x.hot.reqPerSec, 'higher'),
      rowOf(big, 'caching proxy p99 latency, 50k-path catalog', 'ms', (x) => x.hot.p99, 'lower'),
      rowOf(big, 'origin requests per proxied request, 50k-path catalog', 'ratio',
        (x) => x.hot.originHits / (x.hot.reqPerSec * CATALOG_S), 'lower',
        { note: 'both over one capped store, so both miss about as often: collapsing only saves the rare concurrent misses of one cold path' }),
      rowOf(big, 'caching proxy RSS after the 50k-path catalog', 'MiB', (x) => x.rss / 1048576, 'lower')
    )
  } finally {
    load.send('exit')
  }
  return rows
}
