// ferrocache/vsf on its own: options, bad input, limits, expiry, coalescing,
// invalidation. Comments name the peer behaviour a test pins
// (@vue-storefront/redis-cache 2.0 = "the Redis driver", @vue-storefront/cache
// 2.8 = "the module") or say where this driver differs on purpose.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import vsfEsm, { createVsfDriver as namedEsm } from 'ferrocache/vsf'

const require = createRequire(import.meta.url)
const vsf = require('ferrocache/vsf')

const content = (html) => ({ html, cspScriptSrcHashes: [], error: null, redirected: false, preloadFiles: [] })

/** invoke() arguments with a counting render; `tags` is what getTags returns. */
function call (route, { tags = ['P1'], html = `<p>${route}</p>`, render } = {}) {
  const args = {
    route,
    context: {},
    renders: 0,
    render: render ?? (async () => { args.renders++; return content(html) }),
    getTags: () => tags
  }
  return args
}

function driver (opts = {}) {
  const errors = []
  const d = vsf.default({ onError: (e) => errors.push(e), ...opts })
  return { d, errors }
}

test('exports: default (what the module calls) and named factory, CJS and ESM', () => {
  // Pins the module: requirePackage() does require(resolved).default(options).
  assert.equal(typeof vsf.default, 'function')
  assert.equal(vsf.default, vsf.createVsfDriver)
  assert.equal(vsfEsm.default, vsf.default)
  assert.equal(namedEsm, vsf.default)
  // The module calls the factory with no argument when `driver` is a bare string.
  const d = vsf.default()
  for (const m of ['invoke', 'invalidate', 'invalidateAll']) assert.equal(typeof d[m], 'function')
  assert.equal(d.maxSize, 256 * 1024 * 1024)
  assert.equal(d.ttl, undefined)
})

test('options are validated with errors naming the field', () => {
  const cases = [
    ['x', TypeError, /options must be an object/],
    [{ maxSize: '1' }, TypeError, /options\.maxSize must be a number/],
    [{ maxSize: -1 }, RangeError, /options\.maxSize must be a non-negative integer/],
    [{ maxSize: NaN }, RangeError, /options\.maxSize/],
    [{ maxCount: 1.5 }, RangeError, /options\.maxCount/],
    [{ ttl: -1 }, RangeError, /options\.ttl must be a positive number of seconds/],
    [{ ttl: 0 }, RangeError, /options\.ttl/],
    [{ ttl: '60' }, TypeError, /options\.ttl must be a number/],
    [{ defaultTimeout: -5 }, RangeError, /options\.defaultTimeout/],
    [{ ttl: 1, defaultTimeout: 1 }, TypeError, /ttl and options\.defaultTimeout/],
    [{ keyPrefix: 1 }, TypeError, /options\.keyPrefix must be a string/],
    [{ memoSize: -1 }, RangeError, /options\.memoSize/],
    [{ invalidatedHeader: 5 }, TypeError, /options\.invalidatedHeader must be a string/],
    [{ invalidatedHeader: 'bad header' }, RangeError, /options\.invalidatedHeader must be a valid HTTP header name/],
    [{ onError: 'log' }, TypeError, /options\.onError must be a function/]
  ]
  for (const [opts, type, message] of cases) {
    assert.throws(() => vsf.default(opts), (err) => err instanceof type && message.test(err.message), JSON.stringify(opts))
  }
  // Accepted: the Redis driver's own option names pass through (`redis` is ignored,
  // `defaultTimeout` is its ttl), Infinity means no limit.
  const d = vsf.default({ redis: { host: 'x' }, defaultTimeout: 60, maxCount: Infinity, maxSize: 512e6 })
  assert.equal(d.ttl, 60)
})

test('miss renders once, hit returns an equal content without rendering', async () => {
  const { d } = driver()
  const a = call('/a')
  const first = await d.invoke(a)
  assert.deepEqual(first, content('<p>/a</p>'))
  const b = call('/a')
  const second = await d.invoke(b)
  assert.deepEqual(second, content('<p>/a</p>'))
  assert.equal(a.renders + b.renders, 1)
  assert.deepEqual(d.stats().hits, 1)
})

test('each hit gets its own top-level object', async () => {
  const { d } = driver()
  await d.invoke(call('/a'))
  const one = await d.invoke(call('/a'))
  one.html = 'changed by one request'
  const two = await d.invoke(call('/a'))
  assert.equal(two.html, '<p>/a</p>')
  assert.notEqual(one, two)
})

test('key: derived from route as page:${route} (the Redis driver), `key` wins when given, keyPrefix applies', async () => {
  const { d } = driver({ keyPrefix: 'shop1:' })
  await d.invoke({ ...call('/a'), key: 'custom' })
  const viaRoute = call('/a')
  await d.invoke(viaRoute)
  assert.equal(viaRoute.renders, 1, 'route /a was stored under the given key, not page:/a')
  const viaKey = { ...call('/other'), key: 'custom' }
  assert.deepEqual(await d.invoke(viaKey), content('<p>/a</p>'))
  assert.equal(d.delete('/a'), true, 'delete(route) uses the same derivation')
  assert.equal(d.delete('/a'), false)
})

test('untagged content is returned and not cached (the Redis driver)', async () => {
  const { d, errors } = driver()
  const a = call('/u', { tags: [] })
  await d.invoke(a)
  await d.invoke(a)
  assert.equal(a.renders, 2)
  assert.equal(errors.length, 0)
  assert.equal(d.stats().count, 0)
})

test('getTags() not an array or with non-strings: served, not cached, reported as TypeError', async () => {
  // Differs from the Redis driver, which passes them to Redis (SADD of
  // "tags:[object Object]", or a failed MULTI after the response).
  const { d, errors } = driver()
  const a = call('/a', { tags: 'P1' })
  assert.deepEqual(await d.invoke(a), content('<p>/a</p>'))
  const b = call('/b', { tags: ['P1', 7] })
  assert.deepEqual(await d.invoke(b), content('<p>/b</p>'))
  const c = call('/c')
  c.getTags = () => { throw new Error('tags broke') }
  assert.deepEqual(await d.invoke(c), content('<p>/c</p>'))
  assert.equal(d.stats().count, 0)
  assert.equal(errors.length, 3)
  assert.ok(errors[0] instanceof TypeError)
  assert.match(errors[0].message, /getTags\(\) must be an array of strings, got string/)
  assert.match(errors[1].message, /getTags\(\)\[1\] must be a string, got number/)
  assert.equal(errors[2].message, 'tags broke')
})

test('content that is not JSON-serialisable is served and not cached, with a TypeError reported', async () => {
  const { d, errors } = driver()
  const circular = { html: 'x' }
  circular.self = circular
  assert.equal(await d.invoke(call('/circ', { render: async () => circular })), circular)
  const big = { html: 'x', n: 1n }
  assert.equal(await d.invoke(call('/big', { render: async () => big })), big)
  assert.equal(d.stats().count, 0)
  assert.equal(errors.length, 2)
  for (const e of errors) {
    assert.ok(e instanceof TypeError)
    assert.match(e.message, /not serialisable to JSON, not cached/)
  }
})

test('render() resolving to undefined: resolves undefined, not cached, reported', async () => {
  // The Redis driver would SET undefined (a rejected, unawaited promise).
  const { d, errors } = driver()
  const a = call('/void', { render: async () => { a.renders++ } })
  assert.equal(await d.invoke(a), undefined)
  assert.equal(await d.invoke(a), undefined)
  assert.equal(a.renders, 2)
  assert.match(errors[0].message, /render\(\) of 'page:\/void' resolved to undefined, not cached/)
})

test('errors go to process warnings when no onError is given', async () => {
  const d = vsf.default()
  const warned = new Promise((resolve) => process.once('warning', resolve))
  await d.invoke(call('/a', { tags: 'nope' }))
  const w = await warned
  assert.equal(w.code, 'FERROCACHE_VSF_NOT_CACHED')
  assert.match(w.message, /getTags\(\) must be an array/)
})

test('a render that throws rejects invoke with its error and caches nothing (the Redis driver)', async () => {
  const { d } = driver()
  const boom = new Error('render failed')
  await assert.rejects(d.invoke(call('/a', { render: () => { throw boom } })), (e) => e === boom)
  await assert.rejects(d.invoke(call('/a', { render: async () => { throw boom } })), (e) => e === boom)
  const ok = call('/a')
  assert.deepEqual(await d.invoke(ok), content('<p>/a</p>'))
  assert.equal(ok.renders, 1)
})

test('bad invoke() arguments reject with TypeError', async () => {
  const { d } = driver()
  await assert.rejects(d.invoke(null), { name: 'TypeError', message: /invoke\(\) expects an object, got null/ })
  await assert.rejects(d.invoke({ route: 5, render () {}, getTags () {} }), { name: 'TypeError', message: /string key or route/ })
  await assert.rejects(d.invoke({ key: 5, render () {}, getTags () {} }), { name: 'TypeError', message: /key must be a string/ })
  await assert.rejects(d.invoke({ route: '/a', getTags () {} }), { name: 'TypeError', message: /render must be a function/ })
  await assert.rejects(d.invoke({ route: '/a', render () {} }), { name: 'TypeError', message: /getTags must be a function/ })
})

function deferred () {
  let resolve, reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

test('concurrent misses for one key render once and share the result', async () => {
  const { d } = driver()
  const gate = deferred()
  let renders = 0
  const render = async () => { renders++; await gate.promise; return content('<p>shared</p>') }
  const all = Array.from({ length: 10 }, () => d.invoke(call('/hot', { render })))
  gate.resolve()
  const results = await Promise.all(all)
  assert.equal(renders, 1)
  for (const r of results) assert.deepEqual(r, content('<p>shared</p>'))
  assert.equal(new Set(results).size, 10, 'each waiter gets its own object')
})

test('a failed render reaches every waiter and is not cached', async () => {
  const { d } = driver()
  const gate = deferred()
  const boom = new Error('upstream down')
  let renders = 0
  const render = async () => { renders++; await gate.promise; throw boom }
  const all = Array.from({ length: 5 }, () => d.invoke(call('/hot', { render })))
  gate.resolve()
  const settled = await Promise.allSettled(all)
  assert.equal(renders, 1)
  for (const s of settled) {
    assert.equal(s.status, 'rejected')
    assert.equal(s.reason, boom)
  }
  const next = call('/hot')
  await d.invoke(next)
  assert.equal(next.renders, 1, 'the failure was not cached')
})

test('waiters on a page that turns out untagged render for themselves', async () => {
  // An untagged page is never cached (it may be personal, e.g. /account), so
  // sharing it between concurrent requests would leak one user's page to another.
  const { d } = driver()
  const gate = deferred()
  let renders = 0
  const render = async () => { const n = ++renders; await gate.promise; return content(`<p>user ${n}</p>`) }
  const all = Array.from({ length: 3 }, () => d.invoke(call('/account', { tags: [], render })))
  gate.resolve()
  const results = await Promise.all(all)
  assert.equal(renders, 3)
  assert.equal(new Set(results.map((r) => r.html)).size, 3)
})

test('invalidate: drops pages carrying any tag, returns the count; * drops all', async () => {
  const { d } = driver()
  await d.invoke(call('/a', { tags: ['P1', 'Cshoes'] }))
  await d.invoke(call('/b', { tags: ['P2', 'Cshoes'] }))
  await d.invoke(call('/c', { tags: ['P3'] }))
  await d.invoke(call('/d', { tags: ['P4'] }))
  assert.equal(await d.invalidate({ tags: ['Cshoes', 'P1'] }), 2)
  assert.equal(await d.invalidate({ tags: [] }), 0)
  assert.equal(d.stats().count, 2)
  assert.equal(d.stats().tags, 2, 'invalidated pages left the tag index')
  assert.equal(await d.invalidate({ tags: ['P3', '*'] }), 2)
  assert.equal(d.stats().count, 0)
  await d.invoke(call('/e'))
  assert.equal(await d.invalidateAll({}), 1)
  assert.equal(await d.invalidateAll(), 0)
})

test('a render that overlaps an invalidation is served but not stored', async () => {
  // Differs from the Redis driver, which stores such a page (pre-invalidation
  // data then stays cached until the next invalidation).
  const { d } = driver()
  const gate = deferred()
  const slow = call('/a', { render: async () => { await gate.promise; return content('old data') } })
  const pending = d.invoke(slow)
  await d.invalidate({ tags: ['P1'] })
  gate.resolve()
  assert.equal((await pending).html, 'old data')
  const next = call('/a')
  assert.equal((await d.invoke(next)).html, '<p>/a</p>')
  assert.equal(next.renders, 1, 'the overlapping render was not cached')
  const again = call('/a')
  await d.invoke(again)
  assert.equal(again.renders, 0, 'later renders are cached as usual')
})

test('invalidate: bad tags reject with TypeError (the module answers 500)', async () => {
  const { d } = driver()
  await assert.rejects(d.invalidate({ tags: 'P1' }), { name: 'TypeError', message: /invalidate\(\) tags must be an array of strings, got string/ })
  await assert.rejects(d.invalidate({ tags: ['P1', null] }), { name: 'TypeError', message: /invalidate\(\) tags\[1\] must be a string, got null/ })
  await assert.rejects(d.invalidate(), { name: 'TypeError' })
})

test('invalidatedHeader: set on the response unless headers were sent', async () => {
  const { d } = driver({ invalidatedHeader: 'X-Cache-Invalidated' })
  await d.invoke(call('/a'))
  const set = []
  const response = { headersSent: false, setHeader: (k, v) => set.push([k, v]) }
  await d.invalidate({ request: {}, response, tags: ['P1'] })
  await d.invalidateAll({ request: {}, response, tags: [] })
  await d.invalidate({ request: {}, response: { headersSent: true, setHeader: () => assert.fail('sent') }, tags: ['x'] })
  assert.deepEqual(set, [['X-Cache-Invalidated', '1'], ['X-Cache-Invalidated', '0']])
  // Without the option the response is left alone.
  const plain = driver().d
  await plain.invalidate({ response: { setHeader: () => assert.fail('no header asked for') }, tags: ['P1'] })
})

test('a re-rendered page replaces the memoised one after invalidation', async () => {
  const { d } = driver()
  await d.invoke(call('/a', { html: 'v1' }))
  assert.equal((await d.invoke(call('/a'))).html, 'v1')
  await d.invalidate({ tags: ['P1'] })
  await d.invoke(call('/a', { html: 'v2' }))
  assert.equal((await d.invoke(call('/a'))).html, 'v2')
})

test('memoSize 0: hits parse the stored JSON each time', async () => {
  const { d } = driver({ memoSize: 0 })
  await d.invoke(call('/a'))
  assert.deepEqual(await d.invoke(call('/a')), content('<p>/a</p>'))
  assert.deepEqual(await d.invoke(call('/a')), content('<p>/a</p>'))
})

test('maxCount: least recently used pages are evicted and leave the tag index', async () => {
  const { d } = driver({ maxCount: 2 })
  await d.invoke(call('/m', { tags: ['M'] }))
  await d.invoke(call('/m')) // first hit: memoised
  await d.invoke(call('/n', { tags: ['N'] }))
  await d.invoke(call('/m')) // memoised hit: must still mark /m used in Rust
  await d.invoke(call('/o', { tags: ['O'] }))
  const m = call('/m')
  await d.invoke(m)
  assert.equal(m.renders, 0, '/n, not /m, was least recently used')
  await d.invalidateAll()
  await d.invoke(call('/a', { tags: ['A'] }))
  await d.invoke(call('/b', { tags: ['B'] }))
  await d.invoke(call('/a')) // hit: /a is now most recently used
  await d.invoke(call('/c', { tags: ['C'] }))
  const s = d.stats()
  assert.equal(s.count, 2)
  assert.equal(s.evictions, 2)
  assert.equal(s.tags, 2, 'B left with /b')
  assert.equal(await d.invalidate({ tags: ['B'] }), 0)
  const a = call('/a')
  await d.invoke(a)
  assert.equal(a.renders, 0, '/a survived')
})

test('maxSize: the stored bytes never exceed it', async () => {
  const { d } = driver({ maxSize: 4000 })
  for (let i = 0; i < 50; i++) {
    await d.invoke(call(`/p/${i}`, { html: 'x'.repeat(100 + i * 10) }))
    assert.ok(d.stats().size <= 4000, `size ${d.stats().size} after page ${i}`)
  }
  // A page bigger than maxSize is served and not stored.
  const huge = call('/huge', { html: 'x'.repeat(5000) })
  assert.equal((await d.invoke(huge)).html.length, 5000)
  await d.invoke(huge)
  assert.equal(huge.renders, 2)
})

test('ttl: a page expires ttl seconds after it was stored (clock from Date.now)', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
  const { d } = driver({ ttl: 2 })
  await d.invoke(call('/a', { tags: ['A'] }))
  t.mock.timers.tick(1999)
  const hit = call('/a')
  await d.invoke(hit)
  assert.equal(hit.renders, 0)
  t.mock.timers.tick(1)
  const miss = call('/a')
  await d.invoke(miss)
  assert.equal(miss.renders, 1, 'expired at exactly ttl')
  t.mock.timers.tick(5000)
  assert.equal(d.purgeExpired(), 1)
  assert.deepEqual([d.stats().count, d.stats().tags], [0, 0], 'expired pages leave the tag index')
})

test('without ttl pages live until invalidated or evicted', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 })
  const { d } = driver()
  await d.invoke(call('/a'))
  t.mock.timers.tick(10 * 365 * 86400 * 1000)
  const later = call('/a')
  await d.invoke(later)
  assert.equal(later.renders, 0)
})


// Defect 5 (issue 15): a driver without ttl read the clock as 0 ("nothing of
// mine expires"), so on a named cache shared with a driver that has a ttl it
// served pages past their expiry. Expiry is a property of the page: every
// reader checks it with the real clock.
test('drivers with different ttl on one named cache: none serves an expired page', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 5_000_000 })
  const name = 'vsf-shared-ttl'
  const short = driver({ name, ttl: 2 }).d
  const forever = driver({ name }).d
  await short.invoke(call('/a'))
  const early = call('/a')
  await forever.invoke(early)
  assert.equal(early.renders, 0, 'a hit while the page is live (and now memoised)')
  t.mock.timers.tick(2000)
  const late = call('/a')
  await forever.invoke(late)
  assert.equal(late.renders, 1, 'the page expired under the ttl it was stored with')
  const fresh = call('/b')
  await forever.invoke(fresh)
  t.mock.timers.tick(10 * 365 * 86400 * 1000)
  const still = call('/b')
  await short.invoke(still)
  assert.equal(still.renders, 0, "a page stored without ttl never expires, whoever reads it")
})

// Defect 6 (issue 15): invalidate() and invalidateAll() already keep a render
// that overlaps them from storing its (possibly stale) page; delete(route)
// did not, so the render stored the old page right after the delete.
test('a render that overlaps delete(route) is served but not stored', async () => {
  const { d } = driver()
  await d.invoke(call('/a', { html: 'v1' }))
  d.delete('/a')
  const gate = deferred()
  const slow = call('/a', { render: async () => { await gate.promise; return content('old data') } })
  const pending = d.invoke(slow)
  assert.equal(d.delete('/a'), false, 'nothing stored yet')
  gate.resolve()
  assert.equal((await pending).html, 'old data')
  const next = call('/a')
  assert.equal((await d.invoke(next)).html, '<p>/a</p>')
  assert.equal(next.renders, 1, 'the overlapping render was not cached')
})

// Defect 7 (issue 15): tags crossed into Rust as UTF-8, where every lone
// surrogate became U+FFFD, so '\uD800', '\uDBFF' and '\uFFFD' were one tag and
// invalidating one dropped the pages of all three. Keys were already kept
// distinct; tags now are too.
test('tags with lone surrogates stay distinct', async () => {
  const { d } = driver()
  const tags = ['\uD800', '\uDBFF', '\uFFFD', '!%ud800', '%ud800']
  for (const [i, tag] of tags.entries()) await d.invoke(call(`/t${i}`, { tags: [tag] }))
  assert.equal(d.stats().tags, tags.length)
  for (const [i, tag] of tags.entries()) {
    assert.equal(await d.invalidate({ tags: [tag] }), 1, `invalidating ${JSON.stringify(tag)} drops its own page only`)
    for (let j = i + 1; j < tags.length; j++) {
      const hit = call(`/t${j}`, { tags: [tags[j]] })
      await d.invoke(hit)
      assert.equal(hit.renders, 0, `${JSON.stringify(tags[j])} survives invalidating ${JSON.stringify(tag)}`)
    }
  }
})

test('a memoised page removed through another driver of the same named cache is not served again', async () => {
  // Memo hits make no call into Rust while the cache has removed nothing; any
  // removal (delete, eviction, invalidation) by any driver sends the next hit
  // back to Rust. Two drivers on one named cache, one thread.
  const a = vsf.default({ name: 'vsf-memo-watch', maxCount: 1 })
  const b = vsf.default({ name: 'vsf-memo-watch', maxCount: 1 })
  const first = call('/x')
  await a.invoke(first)
  await a.invoke(first) // memoised
  await a.invoke(first) // served from the memo
  assert.equal(first.renders, 1)
  assert.equal(b.delete('/x'), true)
  await a.invoke(first)
  assert.equal(first.renders, 2, 'deleted through b: a renders anew')
  await a.invoke(first) // memoised again
  await b.invoke(call('/y')) // evicts /x (maxCount 1)
  await a.invoke(first)
  assert.equal(first.renders, 3, 'evicted by b: a renders anew')
  await a.invoke(first)
  await b.invalidate({ tags: ['P1'] })
  await a.invoke(first)
  assert.equal(first.renders, 4, 'invalidated through b: a renders anew')
})

test('memo hits are counted in stats() and expire with the page', async () => {
  const { d } = driver({ ttl: 0.05 })
  const args = call('/t')
  await d.invoke(args)
  for (let i = 0; i < 40; i++) await d.invoke(args) // more than one batch of memo hits
  assert.equal(args.renders, 1)
  assert.equal(d.stats().hits, 40)
  await new Promise((resolve) => setTimeout(resolve, 80))
  await d.invoke(args)
  assert.equal(args.renders, 2, 'the page expired: not served from the memo')
})

// Same class as the memory store's defect 8 (issue 15): memo hits are reported
// to Rust in batches, so a worker that serves a few hits and exits must still
// have them counted in the shared cache's stats().
test('memo hits a worker thread served are in stats() after it exits', async () => {
  const { Worker } = await import('node:worker_threads')
  const name = `vsf-exit-${process.pid}-${Date.now()}`
  const { d } = driver({ name })
  await d.invoke(call('/w'))
  const before = d.stats().hits
  const worker = new Worker(`
    const vsf = require(${JSON.stringify(require.resolve('ferrocache/vsf'))})
    const d = vsf.default({ name: ${JSON.stringify(name)} })
    const args = { route: '/w', render: async () => { throw new Error('rendered') }, getTags: () => ['P1'] }
    ;(async () => {
      for (let i = 0; i < 3; i++) await d.invoke(args)
    })().then(() => process.exit(0), () => process.exit(1))
  `, { eval: true })
  const [code] = await new Promise((resolve) => worker.once('exit', (c) => resolve([c])))
  assert.equal(code, 0)
  assert.equal(d.stats().hits - before, 3)
})
