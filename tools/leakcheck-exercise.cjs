'use strict'
// Exercises every face of the addon, then drops everything and lets finalizers run,
// so Valgrind's leak check at exit sees what we failed to free. Run by
// tools/leakcheck.sh (node --expose-gc, under valgrind, with the debug addon);
// also runs on its own: `node --expose-gc tools/leakcheck-exercise.cjs`.
const { Worker } = require('node:worker_threads')
const { mkdtempSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const assert = require('node:assert/strict')
const { MemoryCacheStore, SqliteCacheStore, CachePolicy } = require('../index.js')
const { createVsfDriver } = require('../lib/vsf.js')

const ROUNDS = Number(process.env.LEAKCHECK_ROUNDS ?? 200)
const now = Date.now()
const key = (i, origin = 'http://leak.test') => ({ origin, method: 'GET', path: `/k/${i}`, headers: { 'accept-encoding': i % 2 ? 'gzip' : 'br' } })
const value = (len, vary) => ({
  statusCode: 200,
  statusMessage: 'OK',
  headers: { 'content-type': 'text/plain', etag: '"x"', 'content-length': String(len) },
  vary,
  etag: '"x"',
  cacheControlDirectives: { 'max-age': 60 },
  cachedAt: now,
  staleAt: now + 60e3,
  deleteAt: now + 120e3
})
const turn = () => new Promise((resolve) => setImmediate(resolve))

async function memoryStore () {
  // Small limits: most writes evict.
  const store = new MemoryCacheStore({ maxSize: 64 * 1024, maxCount: 20, maxEntrySize: 16 * 1024 })
  let events = 0
  store.on('maxSizeExceeded', () => events++)
  for (let i = 0; i < ROUNDS; i++) {
    const ws = store.createWriteStream(key(i % 50), value(1000 + i, { 'accept-encoding': i % 2 ? 'gzip' : 'br' }))
    ws.write(Buffer.alloc(500 + i, i))
    ws.end(Buffer.alloc(500, 1))
    store.get(key((i * 7) % 50))
    if (i % 10 === 0) store.delete(key(i % 50))
    // An aborted write (over maxEntrySize) and a destroyed one.
    if (i % 25 === 0) {
      store.createWriteStream(key(1000 + i), value(0)).end(Buffer.alloc(20 * 1024))
      const half = store.createWriteStream(key(2000 + i), value(0))
      half.write(Buffer.alloc(100))
      half.destroy()
    }
    // Expired entries, reclaimed by purgeExpired.
    if (i % 40 === 0) {
      const v = value(10)
      v.deleteAt = Date.now() + 20
      // (undefined if the clock already passed deleteAt: a slow run under valgrind)
      store.createWriteStream(key(3000 + i), v)?.end('soon gone')
    }
    if (i % 20 === 0) await turn()
  }
  await new Promise((resolve) => setTimeout(resolve, 30))
  store.purgeExpired()
  store.stats()
  assert.ok(store.count <= 20 && store.size <= 64 * 1024)
  assert.ok(events > 0)
  store.clear()
  assert.equal(store.count, 0)
}

async function sharedStoreInWorkers () {
  const main = new MemoryCacheStore({ name: 'leakcheck', maxCount: 30 })
  const src = `
    const { parentPort } = require('node:worker_threads')
    const { MemoryCacheStore, CachePolicy } = require(${JSON.stringify(join(__dirname, '..', 'index.js'))})
    const store = new MemoryCacheStore({ name: 'leakcheck', maxCount: 30 })
    const now = Date.now()
    for (let i = 0; i < 60; i++) {
      store.createWriteStream({ origin: 'http://w', method: 'GET', path: '/' + i, headers: {} },
        { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: now + 6e4, deleteAt: now + 12e4 }).end(Buffer.alloc(100 + i))
      store.get({ origin: 'http://w', method: 'GET', path: '/' + (i >> 1), headers: {} })
    }
    // A write left unfinished when the worker exits: dropped with the handle.
    store.createWriteStream({ origin: 'http://w', method: 'GET', path: '/open', headers: {} },
      { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: now + 6e4, deleteAt: now + 12e4 }).write(Buffer.alloc(64))
    const p = new CachePolicy({ url: '/', method: 'GET', headers: {} }, { status: 200, headers: { 'cache-control': 'max-age=60' } })
    parentPort.postMessage(p.timeToLive())
  `
  for (let round = 0; round < 2; round++) {
    await new Promise((resolve, reject) => {
      const w = new Worker(src, { eval: true })
      w.on('error', reject)
      w.on('exit', resolve)
    })
  }
  assert.ok(main.count <= 30)
  main.clear()
}

async function sqliteStore () {
  const dir = mkdtempSync(join(tmpdir(), 'ferrocache-leakcheck-'))
  try {
    for (const location of [':memory:', join(dir, 'cache.db')]) {
      const store = new SqliteCacheStore({ location, maxCount: 20, maxSize: 64 * 1024 })
      for (let i = 0; i < ROUNDS / 2; i++) {
        store.createWriteStream(key(i % 40), value(600, { 'accept-encoding': i % 2 ? 'gzip' : 'br' })).end(Buffer.alloc(600, i))
        const hit = store.get(key((i * 3) % 40))
        if (hit instanceof Promise) await hit
        if (i % 10 === 0) store.delete(key(i % 40))
      }
      // A body over 256 KiB is read on the thread pool (get returns a Promise).
      const big = new SqliteCacheStore({ location })
      big.createWriteStream(key('big'), value(300 * 1024)).end(Buffer.alloc(300 * 1024, 7))
      const r = await big.get(key('big'))
      assert.equal(r.body[0].length, 300 * 1024)
      big.close()
      const half = store.createWriteStream(key('half'), value(10))
      half.write(Buffer.alloc(10))
      half.destroy()
      store.purgeExpired()
      store.stats()
      store.compact()
      store.clear()
      store.close()
    }
    // A store that is never closed: its connection is closed when it is collected.
    const dropped = new SqliteCacheStore({ location: join(dir, 'dropped.db') })
    dropped.createWriteStream(key(1), value(5)).end('hello')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function cachePolicy () {
  const req = { url: '/p', method: 'GET', headers: { host: 'a', accept: 'text/html', 'accept-encoding': 'gzip', cookie: 'x=1' } }
  const res = {
    status: 200,
    headers: {
      'cache-control': 'public, max-age=300, stale-while-revalidate=60',
      date: new Date(now).toUTCString(),
      etag: '"v1"',
      'last-modified': new Date(now - 3600e3).toUTCString(),
      vary: 'accept-encoding',
      'content-length': '100'
    }
  }
  for (let i = 0; i < ROUNDS; i++) {
    const p = new CachePolicy(req, { ...res, headers: { ...res.headers, 'cache-control': `max-age=${i}, must-revalidate` } }, { shared: i % 2 === 0 })
    p.storable()
    p.timeToLive()
    p.satisfiesWithoutRevalidation(req)
    p.responseHeaders()
    p.revalidationHeaders(req)
    const again = CachePolicy.fromObject(JSON.parse(JSON.stringify(p.toObject())))
    again.revalidatedPolicy(req, { status: 304, headers: { etag: '"v1"', 'cache-control': 'max-age=10' } })
    p.evaluateRequest(req)
    p.stale()
    p.age()
  }
  assert.throws(() => new CachePolicy(null, null))
}

async function vsf () {
  const driver = createVsfDriver({ maxSize: 256 * 1024, maxCount: 50, ttl: 60, memoSize: 32 * 1024 })
  const named = createVsfDriver({ name: 'leakcheck-vsf', maxCount: 10 })
  for (let i = 0; i < ROUNDS; i++) {
    for (const d of [driver, named]) {
      await d.invoke({
        route: `/p/${i % 80}`,
        render: async () => ({ html: 'x'.repeat(500 + (i % 7) * 1000), i }),
        getTags: () => [`P${i % 80}`, `C${i % 5}`]
      })
    }
    if (i % 30 === 0) await driver.invalidate({ tags: [`C${i % 5}`] })
    if (i % 50 === 0) driver.delete(`/p/${i % 80}`)
  }
  driver.purgeExpired()
  driver.stats()
  await driver.invalidate({ tags: ['*'] })
  await named.invalidateAll({})
}

;(async () => {
  await memoryStore()
  await sharedStoreInWorkers()
  await sqliteStore()
  cachePolicy()
  await vsf()
  // Let finalizers of dropped stores and Buffers run.
  for (let i = 0; i < 5; i++) {
    globalThis.gc?.()
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  console.log('leakcheck-exercise: done')
})().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
