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
 * Origin requests of two proxy processes serving one Zipf(0.9) stream over a
 * 50k-path catalog (requests alternate between them, 8 in flight): with one
 * shared RedisCacheStore vs one MemoryCacheStore each.
 */
export async function twoProxies (server) {
  const REQUESTS = 20_000
  const PATHS = 50_000
  let originHits = 0
  const body = Buffer.alloc(2048, 7)
  const origin = http.createServer((req, res) => {
    originHits++
    res.writeHead(200, { 'cache-control': 'public, max-age=300', 'content-type': 'text/html' })
    res.end(body)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  const upstream = `http://127.0.0.1:${origin.address().port}`
  const { Agent, request } = require('undici')
  const client = new Agent({ connections: 16 })
  const script = fileURLToPath(new URL('../e2e/redis-proxy.mjs', import.meta.url))
  const run = async (kind) => {
    originHits = 0
    const children = [0, 1].map(() => fork(script, [kind, server.url, `proxy${kind}:`, upstream], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    const ports = await Promise.all(children.map(async (c) => (await once(c, 'message'))[0].port))
    const next = zipf(PATHS, 0.9, 42)
    let sent = 0
    const worker = async () => {
      while (sent < REQUESTS) {
        const i = sent++
        const res = await request(`http://127.0.0.1:${ports[i % 2]}/catalog/${next()}`, { dispatcher: client })
        await res.body.dump()
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    const hits = originHits
    await Promise.all(children.map(async (c) => { c.send('close'); await once(c, 'exit') }))
    return hits
  }
  // The best each setup can do on this stream: one origin request per
  // distinct path (shared), or per distinct path per process (separate).
  const draw = zipf(PATHS, 0.9, 42)
  const all = new Set()
  const each = [new Set(), new Set()]
  for (let i = 0; i < REQUESTS; i++) { const p = draw(); all.add(p); each[i % 2].add(p) }
  const separate = each[0].size + each[1].size
  try {
    const ours = await run('redis')
    const peer = await run('memory')
    return {
      row: `2 proxy processes, 50k-path catalog (Zipf 0.9, ${REQUESTS / 1000}k requests): origin requests`,
      unit: 'requests', ours, peer, peerName: 'two processes, a MemoryCacheStore each', target: 0.55, better: 'lower',
      note: `a cold start: the ideal is ${all.size} (distinct paths) shared vs ${separate} separate, a ratio of ${(all.size / separate).toFixed(3)} for this stream (it nears 0.5 only once both processes have seen most paths); ours is ${ours - all.size} above its ideal, separate stores ${peer - separate} above theirs`
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
