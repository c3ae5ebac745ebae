// The cache interceptor end to end: a caching reverse proxy in its own
// process (bench/e2e/interceptor-proxy.mjs), origin and autocannon in another
// (bench/e2e/load.mjs), all on 127.0.0.1. ferrocache's interceptors.cache vs
// undici's, both over ferrocache's MemoryCacheStore, in interleaved rounds.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { median } from '../measure.mjs'

export const name = 'interceptor'

const here = (p) => fileURLToPath(new URL(p, import.meta.url))
const QUICK = process.env.BENCH_QUICK === '1'
const PATHS = 200

async function ask (child, msg) {
  child.send(msg)
  const [reply] = await once(child, 'message')
  return reply
}

async function round (load, origin, kind, { seconds, warm = 0, connections = 32 }) {
  const proxy = fork(here('../e2e/interceptor-proxy.mjs'), [kind, origin], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ ports }] = await once(proxy, 'message')
  try {
    // Cold: the proxy's first `warm` seconds are measured for origin requests.
    // A herd on a cold catalog: all connections on the same path at once, an origin taking 20 ms.
    const cold = warm > 0 ? await ask(load, { run: { ports, paths: PATHS, seconds: warm, connections, herd: true, originDelay: 20 } }) : null
    const hot = await ask(load, { run: { ports, paths: PATHS, seconds, connections } })
    return { cold, hot }
  } finally {
    proxy.send('exit')
    await once(proxy, 'exit')
  }
}

export default async function run () {
  const load = fork(here('../e2e/load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ origin }] = await once(load, 'message')
  const rows = []
  try {
    const r = { ours: [], undici: [] }
    for (let i = 0; i < (QUICK ? 1 : 3); i++) {
      for (const kind of ['ours', 'undici']) {
        r[kind].push(await round(load, origin, kind, { seconds: QUICK ? 2 : 5, warm: 6 }))
      }
    }
    const med = (k, f) => median(r[k].map(f))
    rows.push({
      row: `collapsing: origin requests per unique path, cold proxy (32 connections in step over ${PATHS} paths, origin 20 ms, first 6 s)`,
      unit: 'requests/path',
      ours: med('ours', (x) => x.cold.originHits / PATHS),
      peer: med('undici', (x) => x.cold.originHits / PATHS),
      peerName: 'undici interceptors.cache (same store)',
      target: 1.05,
      absolute: true,
      better: 'lower',
      note: 'ours collapses concurrent misses for one key into one origin request; undici sends each'
    })
    rows.push({
      row: `caching proxy req/s, hot set of ${PATHS} paths`,
      unit: 'req/s',
      ours: med('ours', (x) => x.hot.reqPerSec),
      peer: med('undici', (x) => x.hot.reqPerSec),
      peerName: 'undici interceptors.cache (same store)',
      target: 1.2,
      better: 'higher'
    })
    rows.push({
      row: `caching proxy p99 latency, hot set of ${PATHS} paths`,
      unit: 'ms',
      ours: med('ours', (x) => x.hot.p99),
      peer: med('undici', (x) => x.hot.p99),
      peerName: 'undici interceptors.cache (same store)',
      target: 1.0,
      better: 'lower'
    })
  } finally {
    load.send('exit')
  }
  return rows
}
