// ferrocache/vsf across three instances when Redis fails under them: frozen
// (SIGSTOP for 3 s) and killed + restarted empty. Requests keep being
// answered (L1 hits at once, misses within commandTimeout + render), nothing
// crashes or rejects unhandled, and once Redis is back the instances are
// coherent again — including for invalidations made while it was away.
// Latencies are printed as diagnostics, never asserted against a time.

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis, redisSkipReason } from './helpers/redis-server.mjs'
import { startInstances, startProxy, percentile } from './helpers/vsf-instances.mjs'

const P = (value) => ({ prefix: 'P', value })
const skip = redisSkipReason()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const now = () => performance.timeOrigin + performance.now()

function summary (samples, from, to) {
  const ms = samples.filter(([t]) => t >= from && t < to).map(([, d]) => d)
  const f = (v) => v === null ? '-' : `${v.toFixed(2)} ms`
  return `${ms.length} requests, p50 ${f(percentile(ms, 50))}, p99 ${f(percentile(ms, 99))}, max ${f(ms.length ? Math.max(...ms) : null)}`
}

describe('ferrocache/vsf on Redis: outages', { skip: skip ?? false, timeout: 80000 }, () => {
  let redis
  let nodes
  const onAll = (cmd, args) => Promise.all(nodes.map((n) => n.call(cmd, args)))

  /** Every instance serves a page of `route` that differs from what it served before `change`. */
  async function coherentAfter (route, change) {
    const held = await Promise.all(nodes.map(async (n) => (await n.call('get', { route })).htmls[0]))
    const res = await change()
    const seen = await Promise.all(nodes.map((n, i) => n.call('watch', { route, old: held[i], timeout: 8000 })))
    for (const [i, s] of seen.entries()) {
      assert.notEqual(s.t, null, `instance ${i} stopped serving the old ${route} (${held[i]}; change: ${JSON.stringify(res)}; ${JSON.stringify(await onAll('stats'))})`)
    }
    return res
  }

  /** Until every instance uses Redis again (breaker closed by its probe, versions resynced). */
  async function back () {
    for (let i = 0; i < 200; i++) {
      const stats = await onAll('stats')
      if (stats.every((s) => s.redisAvailable && s.redisSynced)) return
      await sleep(25)
    }
    assert.fail('the instances did not get back to Redis')
  }

  before(async () => {
    redis = await startRedis()
    nodes = await startInstances(3, { url: redis.url, renderDelay: 5, commandTimeout: 50 })
  })
  after(async () => {
    if (redis) redis.thaw()
    if (nodes) await Promise.all(nodes.map((n) => n.stop()))
    await redis?.stop()
  })

  test('Redis frozen for 3 s: every request answered, then coherent again', async (t) => {
    await onAll('tags', { route: '/p/hot', tags: [P('hot')] })
    for (const n of nodes) await n.call('get', { route: '/p/hot' })
    const loads = nodes.map((n, i) => n.call('load', { duration: 4500, hitRoute: '/p/hot', missPrefix: `/frozen/${i}`, tags: [P('miss')] }))
    await sleep(700)
    const frozenAt = now()
    redis.freeze()
    await sleep(3000)
    redis.thaw()
    const thawedAt = now()
    const results = await Promise.all(loads)
    for (const [i, r] of results.entries()) {
      assert.equal(r.failures, 0, `instance ${i}: every request got its page`)
      assert.ok(r.misses.some(([at]) => at > frozenAt && at < thawedAt), `instance ${i} served misses while frozen`)
      t.diagnostic(`instance ${i} while frozen — L1 hits: ${summary(r.hits, frozenAt, thawedAt)}; misses (5 ms render): ${summary(r.misses, frozenAt, thawedAt)}`)
      t.diagnostic(`instance ${i} before the freeze — misses: ${summary(r.misses, 0, frozenAt)}`)
    }
    for (const n of nodes) assert.ok(n.alive)
    const stats = await onAll('stats')
    for (const s of stats) {
      assert.equal(s.unhandled, 0)
      assert.ok(s.redisErrors >= 1, 'the timeout went to the logger')
    }
    // Back: an invalidation on A reaches B and C.
    await back()
    await coherentAfter('/p/hot', () => nodes[0].call('invalidate', { tags: 'Phot' }))
  })

  test('an invalidation made while Redis is frozen is honoured everywhere once it is back', async () => {
    const [a, b, c] = nodes
    const route = '/p/cut'
    await onAll('tags', { route, tags: [P('cut')] })
    const old = (await a.call('get', { route })).htmls[0]
    for (const n of [b, c]) assert.deepEqual((await n.call('get', { route })).htmls, [old])
    redis.freeze()
    let inv
    try {
      inv = await a.call('invalidate', { tags: 'Pcut' })
      // Pins the module: a driver rejection is a 500, so the caller retries.
      assert.equal(inv.status, 500, 'the caller learns it did not reach every instance')
      assert.notEqual((await a.call('get', { route })).htmls[0], old, 'applied on A at once')
      assert.deepEqual((await b.call('get', { route })).htmls, [old], 'B cannot know yet')
    } finally {
      redis.thaw()
    }
    // Replayed when Redis answers again: B and C drop the page.
    const seen = await Promise.all([b, c].map((n) => n.call('watch', { route, old, timeout: 8000 })))
    for (const s of seen) assert.notEqual(s.t, null)
  })

  test('an instance cut off from Redis while another invalidates stops serving the stale page once it reconnects', async () => {
    // D reaches Redis through a proxy; A directly. Cutting the proxy loses the
    // broadcast for D: the resync after its reconnect must make up for it.
    const proxy = await startProxy(redis.port)
    const [d] = await startInstances(1, { url: `redis://127.0.0.1:${proxy.port}`, renderDelay: 5 }, 4)
    const a = nodes[0]
    try {
      const route = '/p/island'
      await a.call('tags', { route, tags: [P('island')] })
      await d.call('tags', { route, tags: [P('island')] })
      const old = (await a.call('get', { route })).htmls[0]
      assert.deepEqual((await d.call('get', { route })).htmls, [old], 'D serves A\'s page')
      proxy.cut()
      const inv = await a.call('invalidate', { tags: 'Pisland' })
      assert.equal(inv.status, 200)
      assert.deepEqual((await d.call('get', { route })).htmls, [old], 'cut off: D cannot know yet (its L1 keeps serving)')
      await sleep(300)
      proxy.restore()
      const seen = await d.call('watch', { route, old, timeout: 8000 })
      assert.notEqual(seen.t, null, 'after reconnecting, D no longer serves the invalidated page')
      assert.equal((await d.call('stats')).unhandled, 0)
    } finally {
      await d.stop()
      await proxy.close()
    }
  })

  test('Redis killed and restarted empty: requests answered throughout, coherent after', async (t) => {
    await onAll('tags', { route: '/p/hot', tags: [P('hot')] })
    for (const n of nodes) await n.call('get', { route: '/p/hot' })
    const loads = nodes.map((n, i) => n.call('load', { duration: 3000, hitRoute: '/p/hot', missPrefix: `/restart/${i}`, tags: [P('miss2')] }))
    await sleep(500)
    const killedAt = now()
    await redis.restart()
    const backAt = now()
    const results = await Promise.all(loads)
    for (const [i, r] of results.entries()) {
      assert.equal(r.failures, 0, `instance ${i}: every request got its page`)
      t.diagnostic(`instance ${i} around the restart — L1 hits: ${summary(r.hits, killedAt, backAt + 1000)}; misses: ${summary(r.misses, killedAt, backAt + 1000)}`)
    }
    const stats = await onAll('stats')
    for (const s of stats) assert.equal(s.unhandled, 0)
    // Redis lost the versions: the instances moved to a new epoch, and an
    // invalidation on A reaches B and C again.
    await back()
    await coherentAfter('/p/hot', () => nodes[0].call('invalidate', { tags: 'Phot' }))
    const shared = '/p/after-restart'
    await onAll('tags', { route: shared, tags: [P('ar')] })
    const first = await nodes[1].call('get', { route: shared })
    assert.deepEqual((await nodes[2].call('get', { route: shared })).htmls, first.htmls, 'pages are shared again')
  })
})
