// Several app instances (node processes, each with its own undici Agent +
// interceptors.cache + RedisCacheStore) on one real redis-server, against one
// node:http origin on 127.0.0.1 that counts what it receives. Pins issue 12:
// what one instance fetched is a hit in the others without contacting the
// origin; a delete or an unsafe method on one removes it for all (their L1s
// too); the coherence window is measured and printed, not asserted.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startRedis, redisSkipReason } from './helpers/redis-server.mjs'

const skip = redisSkipReason() ?? false
const CHILD = fileURLToPath(new URL('./fixtures/redis-instance.cjs', import.meta.url))

let redis, origin, originUrl
const hits = new Map()
const instances = []

/** Starts an instance; returns call(msg) → Promise of its reply. */
async function instance (env = {}) {
  const child = fork(CHILD, { env: { ...process.env, REDIS_URL: redis.url, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let next = 0
  const waiting = new Map()
  child.on('message', (m) => {
    if (m.ready) return
    const w = waiting.get(m.id)
    if (w === undefined) return
    if (m.armed) { w.armed?.(); return }
    waiting.delete(m.id)
    w.resolve(m)
  })
  await once(child, 'message')
  const call = (msg, armed) => new Promise((resolve) => {
    const id = next++
    waiting.set(id, { resolve, armed })
    child.send({ id, ...msg })
  })
  const handle = { child, call }
  instances.push(handle)
  return handle
}

/** Waits (bounded) until Redis holds the resource written by an interceptor. */
async function landed (path) {
  const key = `mp:{${originUrl.length}:${originUrl}${path}}`
  for (let i = 0; i < 200; i++) {
    if ((await redis.command('EXISTS', key)).startsWith(':1')) return
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  throw new Error(`${path} never reached Redis`)
}

before(async () => {
  if (skip) return
  redis = await startRedis()
  origin = http.createServer((req, res) => {
    const n = (hits.get(req.url) ?? 0) + 1
    hits.set(req.url, n)
    if (req.method !== 'GET') { res.writeHead(204); return res.end() }
    res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' })
    res.end(`${req.url} #${n}`)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  originUrl = `http://127.0.0.1:${origin.address().port}`
})

after(async () => {
  await Promise.all(instances.map(async ({ child, call }) => {
    if (child.exitCode === null) { await call({ op: 'close' }); await once(child, 'exit') }
  }))
  origin?.close()
  await redis?.stop()
})

test('3 instances share one Redis: a response fetched by A is a hit in B and C; delete and unsafe methods reach every L1', { skip, timeout: 30_000 }, async () => {
  const [a, b, c] = [await instance(), await instance(), await instance()]
  const fetch = (i, path, method) => i.call({ op: 'fetch', origin: originUrl, path, method })

  const first = await fetch(a, '/shared')
  assert.equal(first.body, '/shared #1')
  // The interceptor stores the response as its body streams; A's write is
  // done when Redis holds the key (issue 12 counts from the write's finish).
  await landed('/shared')
  assert.equal(hits.get('/shared'), 1)
  for (const i of [b, c, b, c, a]) {
    const r = await fetch(i, '/shared')
    assert.equal(r.body, '/shared #1', 'served from the shared cache')
  }
  assert.equal(hits.get('/shared'), 1, 'the origin was contacted once')
  await fetch(b, '/shared')
  const sb = await b.call({ op: 'stats' })
  assert.equal(sb.l1Hits + sb.l2Hits, 3, 'B was served three times from the cache')
  // A read is put in the L1 unless an invalidation of that key arrived while
  // it was in flight (A's own write may still be landing): then the next one.
  assert.ok(sb.l1Hits >= 1, 'B served later reads from its L1')

  // An unsafe method through C's interceptor invalidates the resource for A and B.
  const post = await fetch(c, '/shared', 'POST')
  assert.equal(post.status, 204)
  // undici's interceptor sends that delete without awaiting it (after the
  // response started), so it lands shortly after C's response: poll, bounded.
  for (const [name, i] of [['A', a], ['B', b]]) {
    let r
    for (let n = 0; n < 100; n++) {
      r = await fetch(i, '/shared')
      if (r.body !== '/shared #1') break
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    assert.notEqual(r.body, '/shared #1', `${name} stops serving the invalidated response`)
  }

  // delete() on C: A's and B's L1s stop serving it; measure the window from
  // C's delete resolving to each L1 dropping the key (wall clock, µs).
  const windows = []
  for (let round = 0; round < 10; round++) {
    const path = `/window${round}`
    await fetch(a, path)
    await landed(path)
    await fetch(a, path); await fetch(b, path); await fetch(b, path) // both L1s hold it
    const armed = []
    const watches = [a, b].map((i) => new Promise((resolve) => {
      armed.push(new Promise((resolveArmed) => {
        i.call({ op: 'watch', origin: originUrl, path }, resolveArmed).then(resolve)
      }))
    }))
    await Promise.all(armed)
    const { at } = await c.call({ op: 'delete', origin: originUrl, path })
    for (const w of await Promise.all(watches)) {
      assert.equal(w.error, undefined, w.error)
      windows.push(w.at - at)
    }
    assert.equal(hits.get(path), 1)
    const again = await fetch(b, path)
    assert.equal(again.body, `${path} #2`, 'after the delete the origin is asked again')
  }
  windows.sort((x, y) => x - y)
  console.log(`# coherence window, delete resolved on C → L1 of A/B dropped it (µs, 20 samples): p50 ${windows[10].toFixed(0)}, max ${windows[19].toFixed(0)} (negative: the message arrived before C saw its reply)`)
})
