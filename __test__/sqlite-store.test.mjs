// SqliteCacheStore beyond the shared contract: undici's options and messages,
// persistence, several processes on one file, a process killed mid-write,
// large bodies read off the event loop, and malformed input.

import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, existsSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { finished } from 'node:stream/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const require = createRequire(import.meta.url)
const { SqliteCacheStore } = require('../index.js')
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'sqlite-child.cjs')

let dir
let n = 0
const opened = []
before(() => { dir = mkdtempSync(join(tmpdir(), 'ferrocache-sqlite-')) })
after(() => {
  for (const s of opened) s.close()
  rmSync(dir, { recursive: true, force: true })
})
const file = () => join(dir, `t${n++}.db`)
function open (opts = {}) {
  const s = new SqliteCacheStore(opts)
  opened.push(s)
  return s
}

const key = (path = '/', extra = {}) => ({ origin: 'http://127.0.0.1', method: 'GET', path, headers: {}, ...extra })
const value = (extra = {}) => {
  const now = Date.now()
  return { statusCode: 200, statusMessage: 'OK', headers: {}, cacheControlDirectives: {}, cachedAt: now, staleAt: now + 10_000, deleteAt: now + 20_000, ...extra }
}
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')
/** Full collections with turns of the event loop between them (N-API finalizers run then). */
async function collect () {
  for (let i = 0; i < 4; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}
const text = (r) => r === undefined ? undefined : Buffer.concat(r.body).toString()
function put (store, k, body, v = value()) {
  const ws = store.createWriteStream(k, v)
  ws.end(body)
  return ws
}

describe('options (undici SqliteCacheStore)', () => {
  test('defaults: :memory:, maxCount Infinity, maxEntrySize 2 GB', () => {
    const s = open()
    assert.equal(s.location, ':memory:')
    assert.equal(s.maxCount, Infinity)
    assert.equal(s.maxEntrySize, 2e9)
    assert.equal(s.maxSize, Infinity)
  })

  test('undici\'s messages', () => {
    assert.throws(() => new SqliteCacheStore('x'), { name: 'TypeError', message: 'SqliteCacheStore options must be an object' })
    assert.throws(() => new SqliteCacheStore({ maxEntrySize: 2e9 + 1 }), { name: 'TypeError', message: 'SqliteCacheStore options.maxEntrySize must be less than 2gb' })
    assert.throws(() => new SqliteCacheStore({ maxEntrySize: -1 }), { name: 'TypeError', message: 'SqliteCacheStore options.maxEntrySize must be a non-negative integer' })
    assert.throws(() => new SqliteCacheStore({ maxCount: 1.5 }), { name: 'TypeError', message: 'SqliteCacheStore options.maxCount must be a non-negative integer' })
    assert.throws(() => new SqliteCacheStore({ maxSize: Infinity }), { name: 'TypeError', message: 'SqliteCacheStore options.maxSize must be a non-negative integer' })
    assert.throws(() => new SqliteCacheStore({ location: 5 }), { name: 'TypeError', message: /options\.location must be a non-empty string/ })
  })

  test('a location that cannot be opened throws and names the store', () => {
    assert.throws(() => new SqliteCacheStore({ location: join(dir, 'no', 'such', 'dir', 'x.db') }), /SqliteCacheStore/)
  })
})

describe('limits', () => {
  // Pins undici main's boundary (its MemoryCacheStore tests; undici 7.29 drops it):
  // exactly maxEntrySize is kept, one byte more is dropped (docs/ARCHITECTURE.md, "Contract details").
  test('a body of exactly maxEntrySize bytes is kept; one more is dropped', async () => {
    const s = open({ maxEntrySize: 10 })
    put(s, key('/ten'), '1234567890')
    assert.equal(text(await s.get(key('/ten'))), '1234567890')
    const ws = s.createWriteStream(key('/eleven'), value())
    ws.on('error', () => {})
    ws.end('12345678901')
    assert.equal(await s.get(key('/eleven')), undefined)
  })

  test('content-length over maxEntrySize or maxSize: no stream', () => {
    const s = open({ maxEntrySize: 100, maxSize: 50 })
    assert.equal(s.createWriteStream(key('/cl'), value({ headers: { 'content-length': '101' } })), undefined)
    assert.equal(s.createWriteStream(key('/cl'), value({ headers: { 'content-length': '51' } })), undefined)
  })

  test('maxSize evicts the oldest until the bodies fit', async () => {
    const s = open({ maxSize: 10 })
    for (const p of ['a', 'b', 'c', 'd', 'e']) put(s, key(`/${p}`), p + p)
    put(s, key('/big'), 'XXXXX')
    assert.deepEqual(
      await Promise.all(['a', 'b', 'c', 'd', 'e', 'big'].map(async (p) => text(await s.get(key(`/${p}`))))),
      [undefined, undefined, undefined, 'dd', 'ee', 'XXXXX'])
    assert.equal(s.stats().size, 9)
    assert.equal(s.stats().evictions, 3)
  })

  // Defect 2 (issue 15): eviction went by rowid and a rewrite kept its row's
  // rowid, so a rewritten entry was evicted before older ones. undici's
  // SqliteCacheStore updates cachedAt on a rewrite and evicts ORDER BY
  // cachedAt ASC: the least recently written entry goes first.
  test('maxCount evicts the least recently written entry, a rewrite counts as a write', async () => {
    const s = open({ maxCount: 2 })
    put(s, key('/a'), 'a1')
    put(s, key('/b'), 'b')
    put(s, key('/a'), 'a2')
    put(s, key('/c'), 'c')
    assert.equal(await s.get(key('/b')), undefined, 'b is the least recently written')
    assert.equal(text(await s.get(key('/a'))), 'a2')
    assert.equal(text(await s.get(key('/c'))), 'c')
  })

  test('count, size (rows, as undici), stats, purgeExpired, clear', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 })
    const s = open()
    put(s, key('/short'), 'a', value({ staleAt: Date.now() + 5, deleteAt: Date.now() + 10 }))
    put(s, key('/long'), 'bb')
    assert.equal(s.count, 2)
    assert.equal(s.size, 2)
    assert.ok(await s.get(key('/long')))
    assert.equal(await s.get(key('/nope')), undefined)
    t.mock.timers.tick(10)
    assert.equal(await s.get(key('/short')), undefined, 'not served at deleteAt')
    assert.equal(s.purgeExpired(), 1)
    assert.deepEqual(s.stats(), { hits: 1, misses: 2, writes: 2, evictions: 0, expired: 1, size: 2, count: 1, hitRatio: 1 / 3 })
    s.clear()
    assert.equal(s.count, 0)
  })
})

describe('write streams and their store', () => {
  // Defect 1 (issue 15): the stream held only the store's slot number; once
  // the store was collected the slot went to the next store opened, and the
  // stream wrote into it (b.db held a's key with body "B1-A2"). A stream keeps
  // its store alive, as undici's SqliteCacheStore stream does by closing over
  // the store itself.
  test('a stream whose store was dropped still writes to its own file only', async () => {
    const aFile = file()
    const bFile = file()
    let a = new SqliteCacheStore({ location: aFile })
    const wa = a.createWriteStream(key('/a'), value())
    await new Promise((resolve, reject) => wa.write('A1', (err) => err ? reject(err) : resolve()))
    a = null
    await collect()
    const b = open({ location: bFile })
    const wb = b.createWriteStream(key('/b'), value())
    await new Promise((resolve, reject) => wb.write('B1', (err) => err ? reject(err) : resolve()))
    await new Promise((resolve, reject) => wa.write('-A2', (err) => err ? reject(err) : resolve()))
    wa.end()
    wb.end()
    await Promise.all([finished(wa), finished(wb)])
    assert.equal(text(await b.get(key('/b'))), 'B1')
    assert.equal(await b.get(key('/a')), undefined, "a's key never lands in b's file")
    const again = open({ location: aFile })
    assert.equal(text(await again.get(key('/a'))), 'A1-A2')

    // The same with no other stream open in b: the stream's next chunk used
    // to find no writer and silently start a new body ("-A3" alone, in b.db).
    let c = new SqliteCacheStore({ location: aFile })
    const wc = c.createWriteStream(key('/c'), value())
    await new Promise((resolve, reject) => wc.write('C1', (err) => err ? reject(err) : resolve()))
    c = null
    await collect()
    const d = open({ location: bFile })
    await new Promise((resolve, reject) => wc.write('-C2', (err) => err ? reject(err) : resolve()))
    await new Promise((resolve, reject) => wc.write('-C3', (err) => err ? reject(err) : resolve()))
    wc.end()
    await finished(wc)
    assert.equal(await d.get(key('/c')), undefined, "c's key never lands in b's file")
    assert.equal(text(await again.get(key('/c'))), 'C1-C2-C3')
  })
})

describe('close and persistence', () => {
  test('close(): later calls throw, closing twice is harmless', () => {
    const s = new SqliteCacheStore()
    s.close()
    s.close()
    assert.throws(() => s.get(key()), /closed/)
    assert.throws(() => s.createWriteStream(key(), value()), /closed/)
  })

  test('entries survive closing and reopening the file', async () => {
    const location = file()
    const a = new SqliteCacheStore({ location })
    put(a, key('/p'), 'persisted', value({ etag: '"e"', vary: { 'accept-encoding': 'gzip' } }))
    a.close()
    const b = open({ location })
    assert.equal(await b.get(key('/p')), undefined, 'Vary still applies')
    const r = await b.get(key('/p', { headers: { 'accept-encoding': 'gzip' } }))
    assert.equal(text(r), 'persisted')
    assert.equal(r.etag, '"e"')
    assert.deepEqual(r.vary, { 'accept-encoding': 'gzip' })
  })

  // auto_vacuum = INCREMENTAL: after clear() the pages can be handed back to the file system.
  test('compact() returns the pages of deleted rows to the file system', async () => {
    const location = file()
    const s = open({ location })
    for (let i = 0; i < 300; i++) put(s, key(`/c${i}`), Buffer.alloc(16 * 1024, i))
    s.compact()
    const full = statSync(location).size
    s.clear()
    assert.ok(s.compact() > 0, 'pages were released')
    const after = statSync(location).size
    assert.ok(after < full / 4, `file shrank: ${full} -> ${after}`)
    put(s, key('/again'), 'again')
    assert.equal(text(await s.get(key('/again'))), 'again')
  })

  test('two stores on one file in one process see each other\'s writes and deletes', async () => {
    const location = file()
    const a = open({ location })
    const b = open({ location })
    assert.equal(await b.get(key('/x')), undefined)
    put(a, key('/x'), 'from a')
    assert.equal(text(await b.get(key('/x'))), 'from a')
    put(b, key('/x'), 'from b')
    assert.equal(text(await a.get(key('/x'))), 'from b', 'a does not serve its memo of a replaced row')
    b.delete(key('/x'))
    assert.equal(await a.get(key('/x')), undefined)
  })
})

describe('large bodies', () => {
  // Bodies over 256 KiB are read on the thread pool: get() returns a Promise.
  test('a large body is returned through a Promise, intact', async () => {
    const s = open({ location: file() })
    const body = Buffer.alloc(1024 * 1024)
    for (let i = 0; i < body.length; i++) body[i] = i % 253
    put(s, key('/large'), body)
    put(s, key('/small'), 'small')
    assert.equal(typeof s.get(key('/small')).then, 'undefined', 'small bodies are synchronous')
    const p = s.get(key('/large'))
    assert.equal(typeof p.then, 'function')
    const r = await p
    assert.ok(Array.isArray(r.body))
    assert.ok(Buffer.concat(r.body).equals(body))
    assert.equal(await s.get(key('/large', { method: 'HEAD' })), undefined)
  })

  test('a large candidate that fails the Vary check is a miss', async () => {
    const s = open()
    const k = key('/lv', { headers: { a: '1' } })
    put(s, k, Buffer.alloc(300 * 1024, 7), value({ vary: { a: '1' } }))
    assert.equal(await s.get(key('/lv', { headers: { a: '2' } })), undefined)
    assert.equal((await s.get(k)).body[0].length, 300 * 1024)
  })
})

/** A child process holding a store on `location`, driven over IPC. */
async function child (location) {
  const cp = fork(CHILD, [location], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [ready] = await once(cp, 'message')
  assert.equal(ready.op, 'ready')
  const ask = async (msg) => {
    cp.send(msg)
    for (;;) {
      const [reply] = await once(cp, 'message')
      if (reply.op === msg.op) return reply
    }
  }
  return { cp, ask }
}

describe('several processes on one file', () => {
  test('a write in one process is a hit in the other; deletes are seen too', async () => {
    const location = file()
    const a = await child(location)
    const b = await child(location)
    try {
      assert.equal((await b.ask({ op: 'get', path: '/shared' })).body, null)
      assert.equal((await a.ask({ op: 'put', path: '/shared', body: 'written by a' })).ok, true)
      assert.equal((await b.ask({ op: 'get', path: '/shared' })).body, 'written by a')
      assert.equal((await b.ask({ op: 'put', path: '/shared', body: 'replaced by b' })).ok, true)
      assert.equal((await a.ask({ op: 'get', path: '/shared' })).body, 'replaced by b')
      await b.ask({ op: 'delete', path: '/shared' })
      assert.equal((await a.ask({ op: 'get', path: '/shared' })).body, null)
    } finally {
      a.cp.kill()
      b.cp.kill()
    }
  })

  test('two processes writing at once: every write lands, none fails', async () => {
    const location = file()
    const a = await child(location)
    const b = await child(location)
    try {
      await Promise.all([a.ask({ op: 'putMany', prefix: 'a', n: 300 }), b.ask({ op: 'putMany', prefix: 'b', n: 300 })])
      assert.equal((await a.ask({ op: 'count' })).count, 600)
      assert.equal((await a.ask({ op: 'get', path: '/b/299' })).body, 'b 299')
      assert.equal((await b.ask({ op: 'get', path: '/a/0' })).body, 'a 0')
    } finally {
      a.cp.kill()
      b.cp.kill()
    }
  })
})

describe('crash safety', () => {
  // A process SIGKILLed while writing (a commit in flight, unfinished streams open) leaves
  // a database that opens cleanly and returns only whole bodies.
  test('SIGKILL mid-write: the file reopens; no torn or partial body is ever returned', async () => {
    const location = file()
    const bytes = 256 * 1024
    const c = await child(location)
    let written = -1
    c.cp.on('message', (m) => { if (m.op === 'written') written = m.i })
    c.cp.send({ op: 'churn', bytes })
    while (written < 40) await once(c.cp, 'message')
    c.cp.kill('SIGKILL')
    await once(c.cp, 'exit')
    assert.ok(existsSync(location))

    const s = open({ location })
    let whole = 0
    // Every reported write is there, whole; the one in flight is either whole or absent.
    for (let i = 0; i <= written + 1; i++) {
      const r = await s.get(key(`/crash/${i}`))
      if (r === undefined) {
        assert.ok(i > written, `/crash/${i} was reported written but is missing`)
        continue
      }
      const body = Buffer.concat(r.body)
      assert.equal(body.length, bytes, `/crash/${i} length`)
      assert.ok(body.equals(Buffer.alloc(bytes, i % 251)), `/crash/${i} content`)
      whole++
    }
    assert.ok(whole > 40)
    for (let i = 0; i <= written + 10; i += 10) {
      assert.equal(await s.get(key(`/torn/${i}`)), undefined, `unfinished /torn/${i} never stored`)
    }
    // The reopened file takes new writes.
    put(s, key('/after'), 'after the crash')
    assert.equal(text(await s.get(key('/after'))), 'after the crash')
  })
})

describe('malformed input leaves the store intact', () => {
  const KEEP = key('/keep', { headers: { 'accept-encoding': 'gzip' } })
  let s
  before(() => {
    s = open({ location: file(), maxCount: 100, maxEntrySize: 500_000 })
    put(s, KEEP, 'kept body', value({ vary: { 'accept-encoding': 'gzip' } }))
  })
  after(async () => {
    assert.equal(text(await s.get(KEEP)), 'kept body')
    assert.equal(s.count, 1)
  })
  const naming = (fn, cls, field) => assert.throws(fn, (err) => err instanceof cls && err.message.includes(field))

  test('malformed keys throw TypeErrors naming the field', () => {
    for (const [k, field] of [[null, 'key'], ['x', 'key'], [{ method: 'GET', path: '/' }, 'key.origin'], [key(42), 'key.path'], [key('/', { method: 5 }), 'key.method']]) {
      naming(() => s.get(k), TypeError, field)
      naming(() => s.createWriteStream(k, value()), TypeError, field)
    }
    naming(() => s.delete(null), TypeError, 'key')
    naming(() => s.get(key('/', { headers: 'x' })), TypeError, 'headers')
    naming(() => s.createWriteStream(key('/', { method: 'GET\nX' }), value()), TypeError, 'key.method')
  })

  test('malformed values throw naming the field', () => {
    naming(() => s.createWriteStream(key('/b'), null), TypeError, 'value')
    naming(() => s.createWriteStream(key('/b'), value({ statusCode: '200' })), TypeError, 'value.statusCode')
    naming(() => s.createWriteStream(key('/b'), value({ deleteAt: NaN })), TypeError, 'value.deleteAt')
    naming(() => s.createWriteStream(key('/b'), value({ vary: { a: 5 } })), TypeError, "vary['a']")
    const circular = {}
    circular.self = circular
    naming(() => s.createWriteStream(key('/b'), value({ headers: circular })), TypeError, 'serialisable')
  })

  test('bad chunks throw; an oversized body destroys the stream and stores nothing', async () => {
    const ws = s.createWriteStream(key('/chunk'), value())
    ws.on('error', () => {})
    assert.throws(() => ws.write(42), TypeError)
    ws.destroy()
    const big = s.createWriteStream(key('/huge'), value())
    big.on('error', () => {})
    big.write(Buffer.alloc(300_000))
    big.write(Buffer.alloc(300_000))
    assert.equal(big.destroyed, true)
    assert.equal(await s.get(key('/huge')), undefined)
    assert.equal(await s.get(key('/chunk')), undefined)
  })

  test('wrong-typed request header values miss', async () => {
    for (const v of [5, true, { gzip: 1 }, ['gzip', 2]]) {
      assert.equal(await s.get(key('/keep', { headers: { 'accept-encoding': v } })), undefined)
    }
  })
})

// Issue 15, the class of defect 4 in this store: a store object memoises the
// responses it served (metadata and body, by id) within a byte budget, and let
// go of a response replaced or removed by another store object (or process)
// only when that budget filled. A lookup that finds a key's memoised id gone
// now drops it, so a reader does not keep bodies the file no longer holds.
test('a reader lets go of a memoised body once a lookup finds its row replaced or gone', async () => {
  setFlagsFromString('--expose-gc')
  const location = file()
  const writer = open({ location })
  const reader = open({ location })
  const served = []
  // In a function of its own, so no stack slot of this test holds a body.
  const serve = async (i) => {
    const hit = await reader.get(key('/k'))
    assert.equal(hit.body[0][0], i)
    served.push(new WeakRef(hit.body[0]))
  }
  for (let i = 0; i < 50; i++) {
    put(writer, key('/k'), Buffer.alloc(50_000, i))
    await serve(i)
  }
  writer.delete(key('/k'))
  assert.equal(await reader.get(key('/k')), undefined)
  await collect()
  const alive = served.map((w, i) => w.deref() === undefined ? -1 : i).filter((i) => i >= 0)
  assert.deepEqual(alive, [], `bodies of replaced rows still alive: ${alive}`)
})
