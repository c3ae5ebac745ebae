// Where a RedisCacheStore get-hit (no L1, 256 B) and a write (16 KB → 'finish')
// spend their time, hop by hop, beside one plain ioredis GET / SET on the same
// server (bench/breakdown.md, docs/redis-store.md "Performance").
// The binding's functions are wrapped to stamp each hop, in JS:
//   get:   call → native fetch entered → native returned → port settle → awaited
//   write: createWriteStream → returned → (end: append, final) native write entered →
//          returned → port settle → 'finish'
//   node bench/redis-hops.mjs      (release build)
import { createRequire } from 'node:module'
import { cacheKey, cacheValue } from './workload.mjs'
import { startRedis } from '../__test__/helpers/redis-server.mjs'
import { readFileSync } from 'node:fs'

const require = createRequire(import.meta.url)
const binding = require('../binding.js')
const stamps = {}
const now = () => performance.now()
for (const name of ['redisStoreFetch', 'redisStoreWrite']) {
  const f = binding[name]
  binding[name] = (...args) => { stamps.enter = now(); const r = f(...args); stamps.exit = now(); return r }
}
const open = binding.redisPortOpen
binding.redisPortOpen = (settle) => open((batch) => { stamps.settle = now(); settle(batch) })
const { RedisCacheStore } = require('../index.js')
const Redis = require('ioredis')

const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1] }
const N = 2000
const server = await startRedis()
const floor = new Redis(server.port, '127.0.0.1', { enableAutoPipelining: false })
const store = new RedisCacheStore({ url: server.url, l1: false, keyPrefix: 'h:', commandTimeout: 1000 })
try {
  const small = Buffer.alloc(256, 7)
  const big = Buffer.alloc(16 * 1024, 7)
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => { const ws = store.createWriteStream(cacheKey(i), cacheValue(small.length)); ws.on('finish', resolve); ws.end(small) })
    await floor.set(`f:${i}`, small)
  }
  const key = (i) => { const k = cacheKey(i % 100); return { origin: k.origin, method: k.method, path: k.path, headers: k.headers } }
  // The write script itself, run by ioredis with the arguments the store
  // sends (src/redis/store.rs WRITE_LUA): Redis' share of a write.
  const lua = /const WRITE_LUA: &str = r#"([\s\S]*?)"#;/.exec(readFileSync(new URL('../src/redis/store.rs', import.meta.url), 'utf8'))[1]
  floor.defineCommand('ferroWrite', { numberOfKeys: 1, lua })
  const v0 = cacheValue(big.length)
  const meta = JSON.stringify([v0.cachedAt, v0.staleAt, v0.deleteAt, v0.statusCode, v0.statusMessage, v0.headers, v0.vary, v0.etag, v0.cacheControlDirectives])
  const variant = 'accept-encoding\u0000gzip'
  const g = { prep: [], native: [], redis: [], back: [], total: [], floor: [] }
  const w = { create: [], endToNative: [], native: [], redis: [], back: [], total: [], floor: [], script: [] }
  for (let i = 0; i < N; i++) {
    let t0 = now()
    const r = await store.get(key(i))
    const t4 = now()
    if (!r) throw new Error('miss')
    g.prep.push(stamps.enter - t0); g.native.push(stamps.exit - stamps.enter); g.redis.push(stamps.settle - stamps.exit)
    g.back.push(t4 - stamps.settle); g.total.push(t4 - t0)
    t0 = now()
    await floor.getBuffer(`f:${i % 100}`)
    g.floor.push(now() - t0)

    const value = cacheValue(big.length)
    t0 = now()
    let t1
    await new Promise((resolve) => { const ws = store.createWriteStream(cacheKey(1000 + (i % 100)), value); t1 = now(); ws.on('finish', resolve); ws.end(big) })
    const t5 = now()
    w.create.push(t1 - t0); w.endToNative.push(stamps.enter - t1); w.native.push(stamps.exit - stamps.enter)
    w.redis.push(stamps.settle - stamps.exit); w.back.push(t5 - stamps.settle); w.total.push(t5 - t0)
    t0 = now()
    await floor.set(`wf:${i % 100}`, big)
    w.floor.push(now() - t0)
    t0 = now()
    await floor.ferroWrite(`sf:{${i % 100}}`, 'sf:invalidate', `GET\n${variant}`, 'GET', meta, big, String(Math.ceil(v0.deleteAt)), String(Date.now()), variant)
    w.script.push(now() - t0)
  }
  const show = (name, o) => console.log(name + ': ' + Object.entries(o).map(([k, v]) => `${k} ${(med(v.slice(200)) * 1000).toFixed(1)} µs`).join(', '))
  show('get-hit 256 B (p50 per hop)', g)
  show('write 16 KB (p50 per hop)', w)
} finally {
  await store.close()
  floor.disconnect()
  await server.stop()
}
process.exit(0)
