// SqliteCacheStore vs undici's SqliteCacheStore (needs node:sqlite, Node >= 22.5),
// same process, interleaved rounds, both on a file in a temp dir. Without
// node:sqlite the peer rows are skipped with a printed reason and ours is
// reported against our MemoryCacheStore instead.
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { interleave, interleaveAsync, timeEachAsync, summarize, median } from '../measure.mjs'
import { cacheKey, cacheValue, writeEntry } from '../workload.mjs'

const require = createRequire(import.meta.url)
const { SqliteCacheStore, MemoryCacheStore } = require('../../index.js')
const binding = require('../../binding.js')
const undici = require('undici')

export const name = 'sqlite-store'
/** The peer needs node:sqlite: bench/run.mjs runs this suite under Node 22 when this Node lacks it. */
export const needs = 'node:sqlite'

/** undici's SqliteCacheStore, or the reason it cannot run here. */
function undiciSqlite () {
  try {
    require('node:sqlite')
  } catch (err) {
    return { reason: `node:sqlite is unavailable on Node ${process.version} (${err.code ?? err.message})` }
  }
  const Store = undici.cacheStores.SqliteCacheStore
  if (typeof Store !== 'function') return { reason: 'this undici has no SqliteCacheStore' }
  return { Store, name: `undici ${require('undici/package.json').version} SqliteCacheStore` }
}

const fresh = (k) => ({ origin: k.origin, method: k.method, path: k.path, headers: k.headers })

function fileSize (path) {
  let n = 0
  for (const p of [path, path + '-wal', path + '-shm']) if (existsSync(p)) n += statSync(p).size
  return n
}

export default async function run () {
  const dir = mkdtempSync(join(tmpdir(), 'ferrocache-bench-sqlite-'))
  const peer = undiciSqlite()
  if (peer.reason) console.log(`\n  sqlite-store: undici SqliteCacheStore rows skipped: ${peer.reason}; comparing with our MemoryCacheStore`)
  const rows = []
  const opened = []
  const open = (Store, opts) => {
    const s = new Store(opts)
    if (typeof s.close === 'function') opened.push(s)
    return s
  }
  let n = 0
  const loc = () => join(dir, `b${n++}.db`)
  try {
    const peerName = peer.Store ? peer.name : 'ferrocache MemoryCacheStore (node:sqlite missing)'
    const makePeer = (opts) => peer.Store ? open(peer.Store, { ...opts, location: loc() }) : open(MemoryCacheStore, { maxSize: 1e9, ...opts })

    // get-hit: 10k entries, Vary, 16 KB bodies, round robin (the memo cannot
    // hold them all: every hit reads the row).
    {
      const N = 10_000
      const body = Buffer.alloc(16 * 1024, 7)
      const ours = open(SqliteCacheStore, { location: loc(), maxCount: 20_000 })
      const other = makePeer({ maxCount: 20_000 })
      const keys = Array.from({ length: N }, (_, i) => cacheKey(i))
      for (let i = 0; i < N; i++) {
        writeEntry(ours, keys[i], cacheValue(body.length), body)
        writeEntry(other, keys[i], cacheValue(body.length), body)
      }
      if (!ours.get(keys[5]) || !(await other.get(keys[5]))) throw new Error('setup failed')
      const r = interleave(
        (i) => ours.get(fresh(keys[i % N])),
        (i) => other.get(fresh(keys[i % N])),
        { rounds: 5, batch: 1000, batches: 30, warmup: 3 }
      )
      rows.push({ row: 'get-hit (10k entries, vary, 16 KB, file)', unit: 'ns', ...r, peerName, target: peer.Store ? 0.5 : undefined, better: 'lower' })

      // Hot set: 100 entries served again and again (the memo answers).
      const h = interleave(
        (i) => ours.get(fresh(keys[i % 100])),
        (i) => other.get(fresh(keys[i % 100])),
        { rounds: 5, batch: 2000, batches: 30, warmup: 3 }
      )
      rows.push({ row: 'get-hit (100 hot entries, 16 KB, file)', unit: 'ns', ...h, peerName, better: 'lower', note: 'ours serves hot rows from a per-object memo (each stored response has a fresh random id) after one indexed lookup' })

      const m = interleave(
        (i) => ours.get(fresh(cacheKey(N + (i % 1000)))),
        (i) => other.get(fresh(cacheKey(N + (i % 1000)))),
        { rounds: 5, batch: 2000, batches: 30, warmup: 3 }
      )
      rows.push({ row: 'get-miss (10k entries, file)', unit: 'ns', ...m, peerName, better: 'lower' })
    }

    // write: createWriteStream + one 16 KB write + end, 1000 keys replaced round robin.
    {
      const body = Buffer.alloc(16 * 1024, 7)
      const ours = open(SqliteCacheStore, { location: loc(), maxCount: 2000 })
      const other = makePeer({ maxCount: 2000 })
      const value = cacheValue(body.length)
      const keys = Array.from({ length: 1000 }, (_, i) => cacheKey(i))
      const r = await interleaveAsync(
        (i) => writeEntry(ours, keys[i % 1000], value, body),
        (i) => writeEntry(other, keys[i % 1000], value, body),
        { rounds: 5, batch: 100, batches: 30, warmup: 5 }
      )
      rows.push({ row: 'write (createWriteStream + 16 KB + end, file)', unit: 'ns', ...r, peerName, target: peer.Store ? 0.7 : undefined, better: 'lower' })
    }

    // Churn: 100k writes of 2 KB bodies to 100k distinct keys at maxCount 1000.
    {
      const body = Buffer.alloc(2048, 3)
      const value = cacheValue(body.length)
      const churn = (store) => {
        const times = []
        for (let i = 0; i < 100_000; i++) {
          const t0 = process.hrtime.bigint()
          writeEntry(store, cacheKey(i), value, body)
          times.push(Number(process.hrtime.bigint() - t0))
        }
        return summarize(times)
      }
      const oursLoc = loc()
      const ours = open(SqliteCacheStore, { location: oursLoc, maxCount: 1000 })
      const ot = churn(ours)
      const oursBytes = fileSize(oursLoc)
      let peerBytes = null
      let pt = null
      let peerCount = null
      if (peer.Store) {
        const peerLoc = loc()
        const other = open(peer.Store, { location: peerLoc, maxCount: 1000 })
        pt = churn(other)
        peerBytes = fileSize(peerLoc)
        peerCount = other.size
      }
      const MiB = 1024 * 1024
      rows.push({ row: 'file size after 100k × 2 KB writes at maxCount 1000 (db + wal)', unit: 'MiB', ours: oursBytes / MiB, peer: peerBytes === null ? null : peerBytes / MiB, peerName: peer.Store ? peer.name : '—', better: 'lower', note: `rows kept: ours ${ours.count}${peerCount === null ? '' : `, undici ${peerCount}`}; payload at the cap: ${(1000 * 2048 / MiB).toFixed(2)} MiB` })
      rows.push({ row: 'churn write p50 (maxCount 1000, 2 KB)', unit: 'ns', ours: ot.p50, peer: pt?.p50 ?? null, peerName: peer.Store ? peer.name : '—', target: peer.Store ? 1.0 : undefined, better: 'lower' })
      rows.push({ row: 'churn write p99 (maxCount 1000, 2 KB)', unit: 'ns', ours: ot.p99, peer: pt?.p99 ?? null, peerName: peer.Store ? peer.name : '—', target: peer.Store ? 1.0 : undefined, better: 'lower' })
    }

    // Sync vs async reads of large bodies: how long a synchronous read blocks
    // the event loop, against the latency of a read on the thread pool (whose
    // event-loop cost is only the call and the Promise).
    {
      const store = open(SqliteCacheStore, { location: loc() })
      const sizes = [16 * 1024, 256 * 1024, 1024 * 1024, 5 * 1024 * 1024]
      const ids = []
      const packs = []
      for (const size of sizes) {
        const k = cacheKey(`big-${size}`)
        writeEntry(store, k, cacheValue(size), Buffer.alloc(size, 5))
        // The lookup's ids are private; read them back with the binding's lookup.
        const packed = 'GET\n' + resourceKey(k)
        ids.push(binding.sqliteStoreLookup(storeSlot(store), packed, Date.now(), Infinity))
        packs.push(packed)
      }
      const slot = storeSlot(store)
      for (let s = 0; s < sizes.length; s++) {
        const id = ids[s]
        const packed = packs[s]
        const times = []
        for (let i = 0; i < 60; i++) {
          const t0 = process.hrtime.bigint()
          binding.sqliteStoreRead(slot, packed, id)
          times.push(Number(process.hrtime.bigint() - t0))
        }
        const sync = median(times)
        const calls = []
        const a = await timeEachAsync(async () => {
          const t0 = process.hrtime.bigint()
          const p = binding.sqliteStoreReadAsync(slot, packed, id)
          calls.push(Number(process.hrtime.bigint() - t0))
          await p
        }, { calls: 60, warmup: 5 })
        const kib = sizes[s] / 1024
        rows.push({ row: `read ${kib >= 1024 ? kib / 1024 + ' MiB' : kib + ' KiB'}: sync (loop blocked) vs async latency`, unit: 'ns', ours: sync, peer: a.p50, peerName: 'async read on the thread pool (ours)', better: 'lower', note: `async: ${(median(calls) / 1000).toFixed(1)} µs of event-loop time to start it` })
      }
    }
  } finally {
    for (const s of opened) s.close()
    for (const slot of extraSlots) binding.sqliteStoreClose(slot[0])
    extraSlots.length = 0
    rmSync(dir, { recursive: true, force: true })
  }
  return rows
}

// The bench reaches below the shell for the read rows: the slot is the first
// element the shell got from sqliteStoreOpen; reopening the same file gives a
// handle of our own instead of reading private fields.
const slots = new WeakMap()
const extraSlots = []
function storeSlot (store) {
  let slot = slots.get(store)
  if (slot === undefined) {
    slot = binding.sqliteStoreOpen(store.location, Infinity, Infinity, 2e9)
    slots.set(store, slot)
    extraSlots.push(slot)
  }
  return slot[0]
}

function resourceKey (k) {
  return k.origin.length + ':' + k.origin + k.path
}
