// End to end: a caching reverse proxy (node:http + undici Agent +
// interceptors.cache) in its own process, origin and autocannon in another,
// all on 127.0.0.1. Ours vs undici's MemoryCacheStore, interleaved rounds.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { median } from '../measure.mjs'

export const name = 'e2e'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const QUICK = process.env.BENCH_QUICK === '1'

async function startLoad () {
  const load = fork(here('../e2e/load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ origin }] = await once(load, 'message')
  return { load, origin }
}

async function startProxy (kind, maxCount, threads, origin) {
  const proxy = fork(here('../e2e/proxy.mjs'), [kind, String(maxCount), String(threads), origin], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  })
  const [{ ports }] = await once(proxy, 'message')
  return { proxy, ports }
}

async function ask (child, msg) {
  child.send(msg)
  const [reply] = await once(child, 'message')
  return reply
}

async function round (load, origin, kind, { maxCount, threads = 1, paths, skew, seconds, warm = 0, connections = 32 }) {
  const { proxy, ports } = await startProxy(kind, maxCount, threads, origin)
  try {
    if (warm > 0) await ask(load, { run: { ports, paths, skew, seconds: warm, connections } })
    const r = await ask(load, { run: { ports, paths, skew, seconds, connections } })
    const rep = await ask(proxy, 'report')
    return { ...r, rss: rep.rss, storeShare: rep.storeNs / rep.cpuNs }
  } finally {
    proxy.send('exit')
    await once(proxy, 'exit')
  }
}

export default async function run () {
  const { load, origin } = await startLoad()
  const rows = []
  try {
    // (a) Hot set: 200 paths, all cached after warm-up.
    const hot = { ours: [], undici: [] }
    for (let r = 0; r < (QUICK ? 1 : 3); r++) {
      for (const kind of ['ours', 'undici']) {
        hot[kind].push(await round(load, origin, kind, { maxCount: 1000, paths: 200, seconds: QUICK ? 2 : 5, warm: 1 }))
      }
    }
    const rps = (k) => median(hot[k].map((x) => x.reqPerSec))
    const share = (k) => median(hot[k].map((x) => x.storeShare))
    rows.push({
      row: 'proxy req/s, hot set of 200 paths', unit: 'req/s', ours: rps('ours'), peer: rps('undici'),
      peerName: 'undici MemoryCacheStore', target: 1.0, better: 'higher',
      note: `share of proxy CPU inside the store: ours ${(share('ours') * 100).toFixed(1)} %, undici ${(share('undici') * 100).toFixed(1)} % — the rest is HTTP parsing, undici's interceptor and streams`
    })

    // (b) Large catalog: 50k paths, Zipf 0.9, store capped at 10k entries.
    const big = {}
    for (const kind of ['ours', 'undici']) {
      big[kind] = await round(load, origin, kind, { maxCount: 10_000, paths: 50_000, skew: 0.9, seconds: QUICK ? 5 : 60 })
    }
    const MiB = 1024 * 1024
    rows.push(
      { row: `proxy req/s, 50k paths Zipf 0.9, cap 10k (${QUICK ? 5 : 60} s)`, unit: 'req/s', ours: big.ours.reqPerSec, peer: big.undici.reqPerSec, peerName: 'undici MemoryCacheStore', better: 'higher' },
      { row: 'proxy p99 latency, large catalog', unit: 'ms', ours: big.ours.p99, peer: big.undici.p99, peerName: 'undici MemoryCacheStore', better: 'lower' },
      { row: 'origin requests, large catalog', unit: 'requests', ours: big.ours.originHits, peer: big.undici.originHits, peerName: 'undici MemoryCacheStore', better: 'lower', note: 'origin requests per proxied request: ours ' + (big.ours.originHits / (big.ours.reqPerSec * (QUICK ? 5 : 60))).toFixed(3) + ', undici ' + (big.undici.originHits / (big.undici.reqPerSec * (QUICK ? 5 : 60))).toFixed(3) + ' (undici never evicts with one variant per path, so it keeps everything)' },
      { row: 'proxy RSS after the large-catalog run', unit: 'MiB', ours: big.ours.rss / MiB, peer: big.undici.rss / MiB, peerName: 'undici MemoryCacheStore', better: 'lower' }
    )

    // (c) Worker threads: one shared native store vs a store per worker.
    for (const threads of [2, 4]) {
      const w = {}
      for (const kind of ['ours', 'undici']) {
        w[kind] = await round(load, origin, kind, { maxCount: 10_000, threads, paths: 2_000, seconds: QUICK ? 3 : 10, connections: 8 * threads })
      }
      rows.push(
        { row: `${threads} worker threads: origin requests from a cold start (2k paths)`, unit: 'requests', ours: w.ours.originHits, peer: w.undici.originHits, peerName: 'a per-worker undici store each', better: 'lower' },
        { row: `${threads} worker threads: req/s`, unit: 'req/s', ours: w.ours.reqPerSec, peer: w.undici.reqPerSec, peerName: 'a per-worker undici store each', better: 'higher' },
        { row: `${threads} worker threads: proxy RSS`, unit: 'MiB', ours: w.ours.rss / MiB, peer: w.undici.rss / MiB, peerName: 'a per-worker undici store each', better: 'lower' }
      )
    }
  } finally {
    load.send('exit')
  }
  return rows
}
