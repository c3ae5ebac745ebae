// RedisCacheStore on a private local redis-server, same process, same server,
// interleaved rounds. References (issue 12):
//   - the physical floor: one GET / SET of the same bytes through a plain
//     Redis client (ioredis) — what any Redis store must at least pay;
//   - the peer undici-cache-redis 1.0.1 (the existing Redis store for undici);
//   - for the L1: our MemoryCacheStore get.
// Latency rows time each awaited call (p50 over the round's calls, median of
// rounds).
//
//   node --expose-gc bench/suites/redis-store.mjs     (standalone; release build)

import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { timeEachAsync, median, interleave } from '../measure.mjs'
import { cacheKey, cacheValue, writeEntry, zipf } from '../workload.mjs'
import http from 'node:http'
import { once } from 'node:events'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startRedis, redisSkipReason } from '../../__test__/helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const { RedisCacheStore, MemoryCacheStore } = require('../../index.js')
const { variantKey } = require('../../lib/vary.js')

export const name = 'redis-store'

const ROUNDS = 5

/** Interleaved async latency: median over rounds of each side's p50 (ns). */
async function interleaveEach (a, b, { calls = 400, warmup = 50 } = {}) {
  const ra = []
  const rb = []
  for (let r = 0; r < ROUNDS; r++) {
    ra.push((await timeEachAsync(a, { calls, warmup })).p50)
    rb.push((await timeEachAsync(b, { calls, warmup })).p50)
  }
  return { ours: median(ra), peer: median(rb) }
}

/** Writes `n` entries through `store` (`inFlight` at a time); resolves when all finished. */
async function fill (store, n, body, offset = 0) {
  const inFlight = 256
  for (let i = 0; i < n; i += inFlight) {
    const batch = []
    for (let j = i; j < Math.min(n, i + inFlight); j++) {
      const ws = store.createWriteStream(cacheKey(offset + j), cacheValue(body.length))
      batch.push(new Promise((resolve) => { ws.on('finish', resolve); ws.on('close', resolve) }))
      ws.end(body)
    }
    await Promise.all(batch)
  }
}

/**
 * Writes `n` entries in RedisCacheStore's layout straight through a pipeline
 * (docs/redis-store.md, "Key layout"): for the 100k and 1M rows, where
 * writing through the store would take minutes. A hit read through the store
 * before timing proves the layout matches.
 */
async function fillDirect (redis, prefix, n, body) {
  const value = cacheValue(body.length)
  const variant = variantKey(value.vary)
  const meta = `${value.deleteAt}\n1\n` + JSON.stringify([value.cachedAt, value.staleAt, value.deleteAt, value.statusCode,
    value.statusMessage, value.headers, value.vary, value.etag, value.cacheControlDirectives])
  for (let i = 0; i < n; i += 1000) {
    const p = redis.pipeline()
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const k = cacheKey(j)
      p.hset(`${prefix}{${k.origin.length}:${k.origin}${k.path}}`, `m:GET\n${variant}`, meta, `b:GET\n${variant}`, body, '#seq', '1')
    }
    await p.exec()
  }
}

async function fillFloor (redis, prefix, n, body) {
  for (let i = 0; i < n; i += 1000) {
    const p = redis.pipeline()
    for (let j = i; j < Math.min(n, i + 1000); j++) p.set(`${prefix}${j}`, body)
    await p.exec()
  }
}

/**
 * Best possible origin requests for a request log `[t, process, path]` with
 * entries fresh for `ttl` (same unit as t): a request goes to the origin when
 * its cache (one shared, or one per process) holds no fresh copy of the path.
 * Counts only requests at or after `from`.
 */
function idealOrigin (log, ttl, from, shared) {
  const until = [new Map(), new Map()]
  let n = 0
  for (const [t, proc, path] of log) {
    const cache = until[shared ? 0 : proc]
    const u = cache.get(path)
    if (u === undefined || u <= t) {
      cache.set(path, t + ttl)
      if (t >= from) n++
    }
  }
  return n
}

/** The ideal shared ÷ separate ratio of a round-robin Zipf(0.9) stream over
 * `paths` with `perMaxAge` requests per max-age, in steady state. */
function idealRatio (paths, perMaxAge) {
  const next = zipf(paths, 0.9, 7)
  const total = perMaxAge * 6
  const log = []
  for (let i = 0; i < total; i++) log.push([i, i % 2, next()])
  return idealOrigin(log, perMaxAge, total / 2, true) / idealOrigin(log, perMaxAge, total / 2, false)
}

/**
 * Two proxy processes behind a round-robin load balancer serving one
 * Zipf(0.9) stream over a 50k-path catalog at a fixed offered load (RATE
 * requests/s, the same schedule for both setups: the traffic of a deployment
 * does not depend on its cache), the origin answering `max-age=MAX_AGE`: with
 * one shared RedisCacheStore vs one MemoryCacheStore each. Each setup runs
 * DURATION ms — several max-ages, so entries expire and are fetched again —
 * and is counted over its second half (steady state). The row is origin
 * requests per 1,000 proxied requests in that window; the note gives the
 * ideal on the same request log.
 */
export async function twoProxies (server) {
  const DURATION = Number(process.env.FERROCACHE_BENCH_PROXY_MS ?? 24_000)
  const RATE = 1000
  const MAX_AGE = 5
  const PATHS = 50_000
  let originHits = 0
  let measuring = false
  const body = Buffer.alloc(2048, 7)
  const origin = http.createServer((req, res) => {
    if (measuring) originHits++
    res.writeHead(200, { 'cache-control': `public, max-age=${MAX_AGE}`, 'content-type': 'text/html' })
    res.end(body)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  const upstream = `http://127.0.0.1:${origin.address().port}`
  const { Agent, request } = require('undici')
  const client = new Agent({ connections: 32 })
  const script = fileURLToPath(new URL('../e2e/redis-proxy.mjs', import.meta.url))
  const total = Math.floor((DURATION / 1000) * RATE)
  const half = total / 2
  // The schedule: request i at i / RATE seconds, to process i % 2.
  const draw = zipf(PATHS, 0.9, 42)
  const paths = Array.from({ length: total }, () => draw())
  const log = paths.map((p, i) => [(i * 1000) / RATE, i % 2, p])
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const run = async (kind) => {
    originHits = 0
    measuring = false
    const children = [0, 1].map(() => fork(script, [kind, server.url, `proxy${kind}:`, upstream], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    const ports = await Promise.all(children.map(async (c) => (await once(c, 'message'))[0].port))
    const t0 = performance.now()
    let sent = 0
    let late = 0
    const worker = async () => {
      while (sent < total) {
        const i = sent++
        const wait = (i * 1000) / RATE - (performance.now() - t0)
        if (wait > 1) await sleep(wait)
        else if (wait < -100) late++
        if (i >= half) measuring = true
        const res = await request(`http://127.0.0.1:${ports[i % 2]}/catalog/${paths[i]}`, { dispatcher: client })
        await res.body.dump()
      }
    }
    await Promise.all(Array.from({ length: 64 }, worker))
    const hits = originHits
    measuring = false
    await Promise.all(children.map(async (c) => { c.send('close'); await once(c, 'exit') }))
    return { origin: hits, late }
  }
  try {
    const ours = await run('redis')
    const peer = await run('memory')
    const counted = total - half
    const per1k = (n) => (1000 * n) / counted
    const shared = idealOrigin(log, MAX_AGE * 1000, (half * 1000) / RATE, true)
    const separate = idealOrigin(log, MAX_AGE * 1000, (half * 1000) / RATE, false)
    const perMaxAge = RATE * MAX_AGE
    return {
      row: `2 proxy processes, 50k-path catalog (Zipf 0.9, round-robin, ${RATE} req/s, max-age ${MAX_AGE} s, steady state): origin requests per 1k proxied`,
      unit: 'requests',
      ours: per1k(ours.origin),
      peer: per1k(peer.origin),
      peerName: 'two processes, a MemoryCacheStore each',
      target: 0.55,
      better: 'lower',
      note: `both setups get the same schedule (${total.toLocaleString('en-US')} requests over ${DURATION / 1000} s, ${perMaxAge.toLocaleString('en-US')} per max-age) and are counted over its second half, when entries expire and are fetched again: ` +
        `shared ${ours.origin} origin requests, separate ${peer.origin}, for ${counted} proxied each (requests sent >100 ms late: ${ours.late} / ${peer.late}). ` +
        `The ideal on this request log (a path is fetched when its cache holds no fresh copy): shared ${per1k(shared).toFixed(1)}, separate ${per1k(separate).toFixed(1)} per 1k, a ratio of ${(shared / separate).toFixed(3)} — ` +
        `this is what the workload allows, whatever the store: most origin requests are for paths asked less than once per max-age, which sharing cannot save. ` +
        `The same stream's ideal at 150,000 requests per max-age (e.g. 500 req/s, max-age 300 s): ${idealRatio(PATHS, 150_000).toFixed(3)}`
    }
  } finally {
    await client.close()
    origin.close()
  }
}

const fresh = (k) => ({ origin: k.origin, method: k.method, path: k.path, headers: k.headers })

export default async function run () {
  const why = redisSkipReason()
  if (why) {
    console.log(`# redis-store: skipped: ${why}`)
    return []
  }
  const Redis = require('ioredis')
  const server = await startRedis()
  const floor = new Redis(server.port, '127.0.0.1', { enableAutoPipelining: false })
  const rows = []
  const stores = []
  const open = (opts) => { const s = new RedisCacheStore({ url: server.url, commandTimeout: 1000, ...opts }); stores.push(s); return s }
  try {
    // --- Redis get-hit vs plain GET, by number of entries -----------------
    const sizes = [[1000, 16 * 1024], [1000, 256], [100_000, 256]]
    if (process.env.FERROCACHE_BENCH_REDIS_1M !== '0') sizes.push([1_000_000, 256])
    for (const [entries, size] of sizes) {
      await server.command('FLUSHALL', 'ASYNC')
      const body = Buffer.alloc(size, 7)
      const ours = open({ l1: false, keyPrefix: `g${entries}:` })
      if (entries <= 1000) await fill(ours, entries, body)
      else await fillDirect(floor, `g${entries}:`, entries, body)
      await fillFloor(floor, 'floor:', entries, body)
      const k = (i) => fresh(cacheKey((i * 7919) % entries))
      if (!(await ours.get(k(1)))) throw new Error('setup: no hit')
      const r = await interleaveEach(
        (i) => ours.get(k(i)),
        (i) => floor.getBuffer(`floor:${(i * 7919) % entries}`)
      )
      rows.push({
        row: `Redis get-hit, no L1 (${entries.toLocaleString('en-US')} entries, vary, ${size >= 1024 ? size / 1024 + ' KB' : size + ' B'})`,
        unit: 'ns', ...r, peerName: `ioredis GET (same bytes)`, target: 1.5, better: 'lower'
      })
      await ours.close()
    }
    await server.command('FLUSHALL', 'ASYNC')

    // --- write vs plain SET ----------------------------------------------
    {
      const body = Buffer.alloc(16 * 1024, 7)
      const ours = open({ l1: false, keyPrefix: 'w:' })
      const value = cacheValue(body.length)
      const write = (i) => new Promise((resolve) => {
        const ws = ours.createWriteStream(cacheKey(i % 1000), value)
        ws.on('finish', resolve)
        ws.end(body)
      })
      const r = await interleaveEach(write, (i) => floor.set(`wfloor:${i % 1000}`, body))
      rows.push({ row: 'Redis write (createWriteStream + 16 KB + end → finish)', unit: 'ns', ...r, peerName: 'ioredis SET (16 KB)', target: 2, better: 'lower' })
      await ours.close()
    }

    // --- L1 get-hit vs our MemoryCacheStore get ----------------------------
    {
      const N = 10_000
      const body = Buffer.alloc(16 * 1024, 7)
      const ours = open({ keyPrefix: 'l1:', l1: { maxSize: 1e9, maxCount: 20_000 } })
      const mem = new MemoryCacheStore({ maxCount: 20_000, maxSize: 1e9, maxEntrySize: 1e6 })
      await fill(ours, N, body)
      for (let i = 0; i < N; i++) writeEntry(mem, cacheKey(i), cacheValue(body.length), body)
      for (let i = 0; i < N; i++) await ours.get(fresh(cacheKey(i))) // read once from Redis: now in the L1
      let sync = 0
      for (let i = 0; i < N; i++) if (!(ours.get(fresh(cacheKey(i))) instanceof Promise)) sync++
      if (sync < N * 0.99) throw new Error(`setup: only ${sync} of ${N} in the L1`)
      const r = interleave(
        (i) => ours.get(fresh(cacheKey(i % N))),
        (i) => mem.get(fresh(cacheKey(i % N))),
        { rounds: ROUNDS, batch: 2000, batches: 30, warmup: 5 }
      )
      rows.push({ row: 'L1 get-hit (10k entries, vary, 16 KB), synchronous', unit: 'ns', ...r, peerName: 'ferrocache MemoryCacheStore get', target: 1.5, better: 'lower' })
      await ours.close()
    }
    await server.command('FLUSHALL', 'ASYNC')

    // --- 2 proxy processes: origin requests -------------------------------
    await server.command('FLUSHALL', 'ASYNC')
    rows.push(await twoProxies(server))

    // --- the peer: undici-cache-redis 1.0.1 --------------------------------
    {
      const { RedisCacheStore: PeerStore } = require('undici-cache-redis')
      const entries = 1000
      const body = Buffer.alloc(16 * 1024, 7)
      for (const [label, tracking, l1] of [['no local tier', false, false], ['local tier', true, undefined]]) {
        await server.command('FLUSHALL', 'ASYNC')
        const peer = new PeerStore({ clientOpts: { host: '127.0.0.1', port: server.port }, tracking, maxEntrySize: 1e6 })
        const ours = open({ l1, keyPrefix: 'p:' })
        await fill(peer, entries, body)
        await fill(ours, entries, body)
        const k = (i) => fresh(cacheKey((i * 7919) % entries))
        for (let i = 0; i < entries; i++) { await peer.get(k(i)); await ours.get(k(i)) }
        if (!(await peer.get(k(3)))) throw new Error('setup: peer has no hit')
        const r = await interleaveEach((i) => ours.get(k(i)), (i) => peer.get(k(i)), { calls: 300, warmup: 30 })
        rows.push({
          row: `get-hit vs undici-cache-redis (1k entries, 16 KB, ${label})`, unit: 'ns', ...r, peerName: `undici-cache-redis 1.0.1 (tracking: ${tracking})`,
          note: tracking ? 'both served from the process (ours: L1, synchronous; the peer: its tracking cache, a Promise)' : 'the peer looks a key up by SCANning the database on every miss of its local cache: its time grows with the number of keys'
        })
        const value = cacheValue(body.length)
        const write = (store) => (i) => new Promise((resolve) => {
          const ws = store.createWriteStream(cacheKey(i % entries), value)
          ws.on('finish', resolve)
          ws.on('close', resolve)
          ws.end(body)
        })
        if (tracking === false) {
          const w = await interleaveEach(write(ours), write(peer), { calls: 300, warmup: 30 })
          rows.push({ row: 'write vs undici-cache-redis (16 KB → finish)', unit: 'ns', ...w, peerName: 'undici-cache-redis 1.0.1', note: 'the peer keeps writing (index sets, tags) after its stream finished; both sides share the server' })
        }
        await peer.close()
        await ours.close()
      }
    }
  } finally {
    for (const s of stores) await s.close()
    floor.disconnect()
    await server.stop()
  }
  return rows
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run()
  for (const r of rows) console.log(`${r.row}: ours ${(r.ours / 1000).toFixed(1)} µs, ${r.peerName} ${(r.peer / 1000).toFixed(1)} µs, ratio ${(r.ours / r.peer).toFixed(2)}`)
  process.exit(0)
}
