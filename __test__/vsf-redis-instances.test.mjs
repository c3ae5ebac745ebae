// ferrocache/vsf across instances: three Node processes, each running the
// real @vue-storefront/cache module with the driver on one real
// redis-server, behave as one cache. Measured numbers (the invalidation
// window, renders of a herd) are printed as test diagnostics, never asserted
// against a time.

import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startRedis, redisSkipReason } from './helpers/redis-server.mjs'
import { startInstances, percentile } from './helpers/vsf-instances.mjs'

const P = (value) => ({ prefix: 'P', value })
const C = (value) => ({ prefix: 'C', value })
const skip = redisSkipReason()

describe('ferrocache/vsf on Redis: three instances', { skip: skip ?? false, timeout: 80000 }, () => {
  let redis
  let nodes // [a, b, c]
  const onAll = (cmd, args) => Promise.all(nodes.map((n) => n.call(cmd, args)))

  before(async () => {
    redis = await startRedis()
    nodes = await startInstances(3, { url: redis.url, renderDelay: 0 })
  })
  after(async () => {
    if (nodes) {
      const stats = await onAll('stats')
      for (const s of stats) assert.equal(s.unhandled, 0, 'no unhandled rejection in any instance')
      await Promise.all(nodes.map((n) => n.stop()))
    }
    await redis?.stop()
  })

  test('shared fill: a page rendered on one instance is served by the others without rendering', async () => {
    const [a, b, c] = nodes
    await onAll('tags', { route: '/p/fill', tags: [P('fill'), C('shoes')] })
    const first = await a.call('get', { route: '/p/fill' })
    const fromB = await b.call('get', { route: '/p/fill' })
    const fromC = await c.call('get', { route: '/p/fill' })
    assert.deepEqual(fromB.htmls, first.htmls, 'B serves A\'s page')
    assert.deepEqual(fromC.htmls, first.htmls, 'C serves A\'s page')
    assert.deepEqual(await onAll('renders', { route: '/p/fill' }), [1, 0, 0])
    // Kept in B's and C's L1: a second request does not go to Redis.
    const [sb, sc] = [await b.call('stats'), await c.call('stats')]
    await b.call('get', { route: '/p/fill' })
    await c.call('get', { route: '/p/fill' })
    const [sb2, sc2] = [await b.call('stats'), await c.call('stats')]
    assert.equal(sb.l2Hits, 1)
    assert.equal(sc.l2Hits, 1)
    assert.deepEqual([sb2.l2Hits, sb2.hits - sb.hits], [1, 1], 'B: an L1 hit')
    assert.deepEqual([sc2.l2Hits, sc2.hits - sc.hits], [1, 1], 'C: an L1 hit')
  })

  test('an invalidation on one instance is seen by every instance (window measured)', async (t) => {
    const [a, b, c] = nodes
    const route = '/p/window'
    await onAll('tags', { route, tags: [P('window'), C('hats')] })
    const windows = [] // first request served the new page - invalidate resolved
    const stale = [] // last request served the old page - invalidate resolved (started after it: a stale answer)
    for (let round = 0; round < 8; round++) {
      // Every instance holds a current page in its L1 (normally the same one:
      // rendered once, shared through Redis).
      const { htmls: [old] } = await a.call('get', { route })
      const held = [(await b.call('get', { route })).htmls[0], (await c.call('get', { route })).htmls[0]]
      // B and C request the page in a loop while A invalidates its tag.
      const watching = [b, c].map((n, i) => n.call('watch', { route, old: held[i], timeout: 3000 }))
      await new Promise((resolve) => setTimeout(resolve, 20))
      const inv = await a.call('invalidate', { tags: round % 2 ? 'Chats' : 'Pwindow' })
      assert.equal(inv.status, 200)
      const seen = await Promise.all(watching)
      for (const [i, s] of seen.entries()) {
        assert.notEqual(s.t, null, 'the invalidation reached the instance')
        assert.notEqual(s.html, held[i])
        windows.push(s.t - inv.resolved)
        stale.push(Math.max(0, (s.lastOld ?? -Infinity) - inv.resolved))
      }
      // A itself no longer serves the old page once its call resolved.
      assert.notDeepEqual((await a.call('get', { route })).htmls, [old])
    }
    const ms = (v) => `${v.toFixed(3)} ms`
    t.diagnostic(`stale window: requests to B and C started after A's invalidation resolved and still served the old page, for up to: ` +
      `p50 ${ms(percentile(stale, 50))}, max ${ms(Math.max(...stale))} (${stale.length} samples; 0: none)`)
    t.diagnostic(`first fresh request after A's invalidation resolved: p50 ${ms(percentile(windows, 50))}, ` +
      `max ${ms(Math.max(...windows))} (negative: before A's HTTP response arrived; includes the watcher's scheduling)`)
    const received = (await onAll('stats')).map((s) => s.invalidationsReceived)
    for (const r of received) assert.ok(r >= 8, `every instance received the broadcasts (${received})`)
  })

  test('invalidateAll (the \'*\' tag) on one instance drops every page everywhere', async () => {
    const [a, b, c] = nodes
    await onAll('tags', { route: '/p/all1', tags: [P('all1')] })
    await onAll('tags', { route: '/c/all2', tags: [C('all2')] })
    const before = {}
    for (const r of ['/p/all1', '/c/all2']) {
      before[r] = (await a.call('get', { route: r })).htmls[0]
      for (const n of [b, c]) assert.deepEqual((await n.call('get', { route: r })).htmls, [before[r]])
    }
    const rendersBefore = await onAll('renders', { route: '/p/all1' })
    const inv = await c.call('invalidate', { tags: '*' })
    assert.equal(inv.status, 200)
    for (const r of ['/p/all1', '/c/all2']) {
      const seen = await Promise.all([a, b].map((n) => n.call('watch', { route: r, old: before[r], timeout: 3000 })))
      for (const s of seen) assert.notEqual(s.t, null, `${r} re-rendered after invalidateAll`)
    }
    const rendersAfter = await onAll('renders', { route: '/p/all1' })
    const added = rendersAfter.reduce((x, y) => x + y) - rendersBefore.reduce((x, y) => x + y)
    assert.equal(added, 1, `one render, shared by A and B (renders ${rendersBefore} -> ${rendersAfter}; ${JSON.stringify(await onAll('stats'))})`)
  })

  test('3 instances × 50 concurrent requests for a cold page: one render', async (t) => {
    await onAll('delay', { ms: 30 })
    try {
      await onAll('tags', { route: '/p/herd', tags: [P('herd')] })
      const results = await onAll('get', { route: '/p/herd', n: 50 })
      const renders = await onAll('renders', { route: '/p/herd' })
      const total = renders.reduce((x, y) => x + y)
      t.diagnostic(`herd: renders per instance ${renders.join(' + ')} = ${total} for 150 requests`)
      assert.equal(total, 1)
      const htmls = new Set(results.flatMap((r) => r.htmls))
      assert.equal(htmls.size, 1, 'every request got the one rendered page')
    } finally {
      await onAll('delay', { ms: 0 })
    }
  })

  test('a renderer that dies holding the lock blocks the page no longer than lockTimeout', async () => {
    const [a, b] = nodes
    // A lock left by an instance that died (what SET NX PX leaves behind).
    await redis.command('SET', 'test:vsf:lock:{page:/p/orphan}', 'dead-instance', 'PX', '300')
    await onAll('tags', { route: '/p/orphan', tags: [P('orphan')] })
    const [ra, rb] = await Promise.all([a.call('get', { route: '/p/orphan' }), b.call('get', { route: '/p/orphan' })])
    assert.equal(ra.htmls.length, 1)
    assert.equal(rb.htmls.length, 1)
    const renders = await onAll('renders', { route: '/p/orphan' })
    assert.ok(renders[0] + renders[1] >= 1, 'the waiters rendered themselves after the lock expired')
  })
})
