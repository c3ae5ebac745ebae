// ferrocache/vsf with `redis` in one process: options, what lands in Redis
// (binary record, expiry at ttl, hash-tagged keys), L2 hits kept in L1,
// stats(), bad values in Redis, an unreachable Redis, and Redis Cluster.
// The multi-process behaviour is in vsf-redis-instances.test.mjs and
// vsf-redis-outage.test.mjs.

import { test, describe, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { startRedis, startCluster, redisSkipReason, freePort } from './helpers/redis-server.mjs'

const require = createRequire(import.meta.url)
const vsf = require('ferrocache/vsf')
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const skip = redisSkipReason()

function call (route, { tags = ['P1'], html = `<p>${route}</p>`, counter } = {}) {
  return {
    route,
    render: async () => {
      if (counter) counter.n++
      return { html, error: null }
    },
    getTags: () => tags
  }
}

async function synced (...drivers) {
  for (let i = 0; i < 400; i++) {
    if (drivers.every((d) => d.stats().redisSynced)) return
    await sleep(5)
  }
  assert.fail('driver did not sync with Redis')
}

test('options.redis is validated with errors naming the field', () => {
  const url = 'redis://127.0.0.1:1'
  const cases = [
    ['x', TypeError, /options\.redis must be an object, got string/],
    [[], TypeError, /options\.redis must be an object, got array/],
    [{ url: 5 }, TypeError, /options\.redis\.url must be a string, got number/],
    [{ url: 'http://x' }, TypeError, /options\.redis\.url must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ url: [] }, TypeError, /options\.redis\.url must be a URL or a non-empty array/],
    [{ url: [url, 7] }, TypeError, /options\.redis\.url\[1\] must be a string/],
    [{ url, keyPrefix: 1 }, TypeError, /options\.redis\.keyPrefix must be a string/],
    [{ url, commandTimeout: '50' }, TypeError, /options\.redis\.commandTimeout must be a number/],
    [{ url, commandTimeout: 0 }, RangeError, /options\.redis\.commandTimeout must be an integer/],
    [{ url, commandTimeout: 2.5 }, RangeError, /options\.redis\.commandTimeout/],
    [{ url, lockTimeout: -1 }, RangeError, /options\.redis\.lockTimeout/],
    [{ url, lockTimeout: Infinity }, RangeError, /options\.redis\.lockTimeout/],
    [{ url, onError: 'log' }, TypeError, /options\.redis\.onError must be a function/],
    [{ url, cluster: 1 }, TypeError, /options\.redis\.cluster must be a boolean/],
    [{ url: 'redis://[bad' }, TypeError, /options\.redis\.url/]
  ]
  for (const [redis, type, message] of cases) {
    assert.throws(() => vsf.default({ redis }), (err) => err instanceof type && message.test(err.message), JSON.stringify(redis))
  }
  assert.throws(() => vsf.default({ name: 'shared', redis: { url } }), (err) => err instanceof TypeError && /options\.name cannot be combined with options\.redis/.test(err.message))
})

test('without redis.url the driver is the in-process one (the Redis driver\'s ioredis options are ignored)', async () => {
  // Pins the earlier contract: `redis: { host, port }` configs load unchanged.
  const d = vsf.default({ redis: { host: '127.0.0.1', port: 1 } })
  const counter = { n: 0 }
  await d.invoke(call('/a', { counter }))
  await d.invoke(call('/a', { counter }))
  assert.equal(counter.n, 1)
  const s = d.stats()
  assert.deepEqual([s.l2Hits, s.redisErrors, s.invalidationsReceived, s.renders], [0, 0, 0, 1])
})

test('an unreachable Redis: the driver is created at once, every request rendered, failures to onError', { skip: skip ?? false }, async () => {
  const port = await freePort() // nothing listens there
  const errors = []
  let unhandled = 0
  const onUnhandled = () => { unhandled++ }
  process.on('unhandledRejection', onUnhandled)
  try {
    const d = vsf.default({ ttl: 60, redis: { url: `redis://127.0.0.1:${port}`, commandTimeout: 20, onError: (e) => errors.push(e) } })
    const counter = { n: 0 }
    const first = await d.invoke(call('/a', { counter }))
    assert.equal(first.html, '<p>/a</p>')
    // Kept in L1: a hit never waits for Redis.
    assert.deepEqual(await d.invoke(call('/a', { counter })), first)
    assert.equal(counter.n, 1)
    // An invalidation rejects (the module answers 500) but is applied here.
    await assert.rejects(d.invalidate({ tags: ['P1'] }), /applied on this instance only/)
    await d.invoke(call('/a', { counter }))
    assert.equal(counter.n, 2)
    await sleep(50)
    assert.equal(unhandled, 0)
    assert.ok(d.stats().redisErrors >= 1, 'the failure was counted')
    assert.ok(errors.length >= 1, 'and reported')
    for (const e of errors) assert.ok(e instanceof Error && e.message.startsWith('ferrocache/vsf: '), e.message)
    await d.close()
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})

describe('ferrocache/vsf on one redis-server', { skip: skip ?? false }, () => {
  let redis
  const open = []
  const make = (extra = {}) => {
    const d = vsf.default({ ttl: 60, ...extra, redis: { url: redis.url, keyPrefix: 'u:', ...extra.redis } })
    open.push(d)
    return d
  }
  before(async () => { redis = await startRedis() })
  after(async () => {
    for (const d of open) await d.close()
    await redis?.stop()
  })
  beforeEach(async () => { await redis.flush() })

  test('a stored page is one binary value, hash-tagged per page, expiring at ttl', async () => {
    const d = make()
    await synced(d)
    await d.invoke(call('/p/1', { tags: ['P1', 'Cshoes'], html: 'é<p>' }))
    await sleep(20) // the write is in the background
    const value = await redis.command('GETRANGE', 'u:vsf:page:{page:/p/1}', '0', '3')
    assert.match(value, /FVP1/, 'our record format, not JSON')
    const pttl = Number((await redis.command('PTTL', 'u:vsf:page:{page:/p/1}')).slice(1))
    assert.ok(pttl > 55_000 && pttl <= 60_000, `expires at ttl (${pttl} ms left)`)
    // No lock left behind once the page landed.
    assert.match(await redis.command('EXISTS', 'u:vsf:lock:{page:/p/1}'), /^:0/)
  })

  test('an L2 hit is served without rendering and kept in L1; stats() counts it', async () => {
    const a = make()
    const b = make()
    await synced(a, b)
    const counter = { n: 0 }
    const first = await a.invoke(call('/p/2', { counter }))
    await sleep(20)
    const fromB = await b.invoke(call('/p/2', { counter }))
    assert.deepEqual(fromB, first)
    assert.equal(counter.n, 1)
    let s = b.stats()
    assert.deepEqual([s.l2Hits, s.hits, s.count], [1, 0, 1])
    await b.invoke(call('/p/2', { counter }))
    s = b.stats()
    assert.deepEqual([s.l2Hits, s.hits], [1, 1], 'the second request is an L1 hit')
    assert.equal(a.stats().renders, 1)
    for (const key of ['l2Hits', 'renders', 'coalescedWaits', 'invalidationsReceived', 'redisErrors']) {
      assert.equal(typeof s[key], 'number', key)
    }
  })

  test('invalidate resolves to the pages dropped here and reaches the other driver', async () => {
    const a = make()
    const b = make()
    await synced(a, b)
    const counter = { n: 0 }
    await a.invoke(call('/p/3', { counter, tags: ['P3', 'Chats'] }))
    await sleep(20)
    await b.invoke(call('/p/3', { counter, tags: ['P3', 'Chats'] }))
    assert.equal(await a.invalidate({ tags: ['Chats'] }), 1)
    await sleep(20)
    await b.invoke(call('/p/3', { counter, tags: ['P3', 'Chats'] }))
    assert.equal(counter.n, 2, 'B rendered anew')
    assert.ok(b.stats().invalidationsReceived >= 1)
    // Invalidating one tag is one script on one key, whatever the pages.
    assert.match(await redis.command('HEXISTS', 'u:vsf:tags:{u:vsf}', 'Chats'), /^:1/)
  })

  test('a value under a page key that is not a page: reported, rendered anew, overwritten', async () => {
    const errors = []
    const d = make({ redis: { onError: (e) => errors.push(e) } })
    await synced(d)
    await redis.command('SET', 'u:vsf:page:{page:/p/bad}', '{"html":"from the other driver"}')
    const counter = { n: 0 }
    const page = await d.invoke(call('/p/bad', { counter }))
    assert.equal(page.html, '<p>/p/bad</p>')
    assert.equal(counter.n, 1)
    // The report comes from the tier's thread through a threadsafe function:
    // it may land just after invoke() resolved (bounded wait).
    for (let i = 0; i < 100 && errors.length === 0; i++) await sleep(10)
    assert.equal(errors.length, 1)
    assert.match(errors[0].message, /not a ferrocache page record/)
    await sleep(20)
    assert.match(await redis.command('GETRANGE', 'u:vsf:page:{page:/p/bad}', '0', '3'), /FVP1/)
  })

  test('L1 stays bounded by maxCount while Redis keeps every page', async () => {
    const d = make({ maxCount: 3 })
    await synced(d)
    for (let i = 0; i < 10; i++) await d.invoke(call(`/p/b${i}`))
    await sleep(30)
    assert.equal(d.stats().count, 3)
    const keys = await redis.command('KEYS', 'u:vsf:page:*')
    assert.equal(keys.split('\r\n')[0], '*10')
  })

  test('untagged pages are neither stored in Redis nor locked after their render', async () => {
    const d = make()
    await synced(d)
    await d.invoke(call('/account', { tags: [] }))
    await sleep(20)
    assert.match(await redis.command('EXISTS', 'u:vsf:page:{page:/account}', 'u:vsf:lock:{page:/account}'), /^:0/)
  })
})

describe('ferrocache/vsf on a Redis Cluster (3 masters)', { skip: skip ?? false, timeout: 60000 }, () => {
  let cluster
  before(async () => { cluster = await startCluster() })
  after(async () => { await cluster?.stop() })

  test('pages are shared and invalidated through the cluster, no command spans slots', async () => {
    const errors = []
    const opts = { ttl: 60, redis: { url: cluster.urls, keyPrefix: 'c:', onError: (e) => errors.push(e) } }
    const a = vsf.default(opts)
    const b = vsf.default(opts)
    try {
      await synced(a, b)
      const counter = { n: 0 }
      // Pages in many slots, tags in one hash-tagged meta slot.
      for (let i = 0; i < 20; i++) await a.invoke(call(`/p/${i}`, { counter, tags: [`P${i}`, 'Call'] }))
      await sleep(50)
      for (let i = 0; i < 20; i++) await b.invoke(call(`/p/${i}`, { counter, tags: [`P${i}`, 'Call'] }))
      assert.equal(counter.n, 20, 'B served every page from the cluster')
      assert.equal(b.stats().l2Hits, 20)
      await a.invalidate({ tags: ['Call'] })
      await sleep(50)
      await b.invoke(call('/p/0', { counter, tags: ['P0', 'Call'] }))
      assert.equal(counter.n, 21, 'the invalidation reached B')
      assert.deepEqual(errors.map((e) => e.message), [], 'no CROSSSLOT or other error')
    } finally {
      await a.close()
      await b.close()
    }
  })
})
