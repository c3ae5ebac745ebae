// Shared-cache safety (RFC 9111 §3, §3.5, §4.1): what a cache shared by many
// users must never store or serve, for CachePolicy (compared with
// http-cache-semantics 4.3 in every case), for both undici stores through a
// real undici Agent with interceptors.cache() against a node:http server on
// 127.0.0.1, and key isolation in the stores and the vsf page cache.
// docs/SECURITY.md states these promises.

import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { createServer } from 'node:http'
import { once } from 'node:events'

const require = createRequire(import.meta.url)
const { MemoryCacheStore, SqliteCacheStore, CachePolicy } = require('../index.js')
const { createVsfDriver } = require('../lib/vsf.js')
const { Agent, interceptors, request } = require('undici')
const HttpCachePolicy = require('http-cache-semantics')

// ---------------------------------------------------------------------------
// CachePolicy

const DATE = new Date().toUTCString()
const policies = (reqHeaders, resHeaders, opts) => [CachePolicy, HttpCachePolicy].map((P) =>
  new P({ url: '/r', method: 'GET', headers: { host: 'example.com', ...reqHeaders } },
    { status: 200, headers: { date: DATE, ...resHeaders } }, opts))
/** The same answer from ours and http-cache-semantics; returns it. */
function both (fn, ...args) {
  const [ours, peer] = policies(...args).map(fn)
  assert.deepEqual(ours, peer, 'same as http-cache-semantics')
  return ours
}
const storable = (p) => p.storable()
const fresh = (p) => p.storable() && p.timeToLive() > 0

describe('CachePolicy: shared vs private cache', () => {
  // RFC 9111 §3.5: a shared cache must not store a response to a request with
  // Authorization unless the response allows it (public, s-maxage, must-revalidate).
  for (const [cc, inShared] of [
    ['max-age=60', false],
    ['public, max-age=60', true],
    ['s-maxage=60', true],
    ['must-revalidate, max-age=60', true],
    ['private, max-age=60', false],
    ['no-store, public, max-age=60', false],
    ['no-cache, max-age=60', false]
  ]) {
    test(`Authorization + Cache-Control: ${cc}`, () => {
      assert.equal(both(storable, { authorization: 'Bearer secret' }, { 'cache-control': cc }), inShared, 'shared')
      // A private cache may store it (unless no-store).
      assert.equal(both(storable, { authorization: 'Bearer secret' }, { 'cache-control': cc }, { shared: false }), !cc.includes('no-store'))
      // Without Authorization the same response is storable (unless private/no-store).
      assert.equal(both(storable, {}, { 'cache-control': cc }), !cc.includes('private') && !cc.includes('no-store'))
    })
  }

  test('private (also qualified private="…"): never stored by a shared cache, stored by a private one', () => {
    for (const cc of ['private, max-age=60', 'private="set-cookie", max-age=60', 'max-age=60,private']) {
      assert.equal(both(storable, {}, { 'cache-control': cc }), false, cc)
      assert.equal(both(storable, {}, { 'cache-control': cc }, { shared: false }), true, cc)
    }
  })

  // Known gap, shared with http-cache-semantics (whose API CachePolicy keeps):
  // directive names are matched case-sensitively, so `PRIVATE` / `No-Store`
  // are ignored, while RFC 9111 §5.2 makes them case-insensitive. undici's
  // interceptor lower-cases them, so the stores behind it are not affected.
  test('upper-case PRIVATE / NO-STORE are honoured by a shared cache', { todo: 'case-sensitive directive names, as http-cache-semantics (docs/SECURITY.md)' }, () => {
    assert.equal(both(storable, {}, { 'cache-control': 'max-age=60, PRIVATE' }), false)
    assert.equal(both(storable, {}, { 'cache-control': 'No-Store, max-age=60' }), false)
  })

  test('no-store in the response or the request: never stored, shared or not', () => {
    for (const shared of [true, false]) {
      assert.equal(both(storable, {}, { 'cache-control': 'no-store, max-age=60' }, { shared }), false)
      assert.equal(both(storable, { 'cache-control': 'no-store' }, { 'cache-control': 'public, max-age=60' }, { shared }), false)
    }
  })

  // Set-Cookie (documented in docs/SECURITY.md): as http-cache-semantics, a
  // response with Set-Cookie is storable() but, in a shared cache, has no
  // freshness unless it is public or immutable (so it is always revalidated
  // first); responseHeaders() keeps Set-Cookie (nothing is stripped).
  test('Set-Cookie: never fresh in a shared cache unless public/immutable; kept in responseHeaders()', () => {
    const cookie = { 'set-cookie': ['session=alice; HttpOnly'] }
    assert.equal(both(storable, {}, { 'cache-control': 'max-age=60', ...cookie }), true)
    assert.equal(both(fresh, {}, { 'cache-control': 'max-age=60', ...cookie }), false, 'shared: not fresh')
    assert.equal(both((p) => p.satisfiesWithoutRevalidation({ url: '/r', method: 'GET', headers: { host: 'example.com' } }),
      {}, { 'cache-control': 'max-age=60', ...cookie }), false, 'shared: revalidated before reuse')
    assert.equal(both(fresh, {}, { 'cache-control': 'public, max-age=60', ...cookie }), true, 'public opts in')
    assert.equal(both(fresh, {}, { 'cache-control': 'max-age=60', ...cookie }, { shared: false }), true, 'private cache')
    assert.deepEqual(both((p) => p.responseHeaders()['set-cookie'], {}, { 'cache-control': 'public, max-age=60', ...cookie }), cookie['set-cookie'])
  })
})

describe('CachePolicy: Vary never serves another variant (RFC 9111 §4.1)', () => {
  const reuse = (stored, vary, asked) => both((p) => p.satisfiesWithoutRevalidation({ url: '/r', method: 'GET', headers: { host: 'example.com', ...asked } }),
    stored, { 'cache-control': 'public, max-age=60', vary })

  test('same value matches, a different value does not', () => {
    assert.equal(reuse({ 'accept-language': 'en' }, 'accept-language', { 'accept-language': 'en' }), true)
    assert.equal(reuse({ 'accept-language': 'en' }, 'accept-language', { 'accept-language': 'de' }), false)
  })
  test('absent vs present vs empty are three different requests', () => {
    assert.equal(reuse({}, 'accept-language', { 'accept-language': 'en' }), false)
    assert.equal(reuse({ 'accept-language': 'en' }, 'accept-language', {}), false)
    assert.equal(reuse({ 'accept-language': '' }, 'accept-language', {}), false)
    assert.equal(reuse({}, 'accept-language', { 'accept-language': '' }), false)
    assert.equal(reuse({}, 'accept-language', {}), true)
  })
  test('Vary names are case-insensitive (request headers arrive lower-cased)', () => {
    assert.equal(reuse({ 'accept-language': 'en' }, 'Accept-Language', { 'accept-language': 'en' }), true)
    assert.equal(reuse({ 'accept-language': 'en' }, 'ACCEPT-LANGUAGE', { 'accept-language': 'de' }), false)
  })
  test('several Vary fields: every one must match', () => {
    const stored = { 'accept-language': 'en', 'accept-encoding': 'gzip' }
    assert.equal(reuse(stored, 'accept-language, accept-encoding', stored), true)
    assert.equal(reuse(stored, 'accept-language,accept-encoding', { ...stored, 'accept-encoding': 'br' }), false)
    assert.equal(reuse(stored, 'accept-language , accept-encoding', { 'accept-language': 'en' }), false)
  })
  test('Vary: * never matches (and is not fresh)', () => {
    assert.equal(reuse({}, '*', {}), false)
    assert.equal(reuse({}, 'accept-language, *', {}), false)
    assert.equal(both((p) => p.timeToLive(), {}, { 'cache-control': 'public, max-age=60', vary: '*' }), 0)
  })
  test('a Vary sent twice (array) is refused with a TypeError, never matched loosely', () => {
    const [ours] = policies({}, { 'cache-control': 'max-age=60', vary: ['accept-language', 'cookie'] })
    assert.throws(() => ours.satisfiesWithoutRevalidation({ url: '/r', method: 'GET', headers: { host: 'example.com' } }), TypeError)
  })
  test('another host, URL or method never matches', () => {
    const asked = (req) => both((p) => p.satisfiesWithoutRevalidation({ url: '/r', method: 'GET', headers: { host: 'example.com' }, ...req }), {}, { 'cache-control': 'public, max-age=60' })
    assert.equal(asked({}), true)
    assert.equal(asked({ headers: { host: 'evil.example' } }), false)
    assert.equal(asked({ url: '/r?x' }), false)
    assert.equal(asked({ method: 'HEAD' }), false)
    assert.equal(asked({ method: 'POST' }), false)
  })
})

// ---------------------------------------------------------------------------
// Stores through undici's cache interceptor

/** A server that counts origin hits per path and echoes what it was asked. */
async function origin () {
  const hits = new Map()
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1)
    const headers = { 'cache-control': url.searchParams.get('cc') ?? 'public, max-age=60' }
    if (url.searchParams.has('vary')) headers.vary = url.searchParams.get('vary')
    if (url.searchParams.has('cookie')) headers['set-cookie'] = 'session=alice'
    res.writeHead(200, headers)
    res.end(JSON.stringify({
      path: url.pathname,
      n: hits.get(url.pathname),
      auth: req.headers.authorization ?? null,
      lang: req.headers['accept-language'] ?? null,
      enc: req.headers['accept-encoding'] ?? null
    }))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, hits, url: `http://127.0.0.1:${server.address().port}` }
}

const STORES = [
  ['MemoryCacheStore', () => new MemoryCacheStore()],
  ['SqliteCacheStore', () => new SqliteCacheStore({ location: ':memory:' })]
]

for (const [name, make] of STORES) {
  for (const type of ['shared', 'private']) {
    describe(`${name} behind undici's cache interceptor (type: '${type}')`, () => {
      let o, store, agent
      before(async () => {
        o = await origin()
        store = make()
        agent = new Agent().compose(interceptors.cache({ store, type }))
      })
      after(async () => {
        await agent.close()
        o.server.close()
        store.close?.()
      })
      const get = async (path, headers = {}) => {
        const res = await request(o.url + path, { dispatcher: agent, headers })
        return JSON.parse(await res.body.text())
      }

      test('Authorization: not stored unless public / s-maxage / must-revalidate; never served to someone else', async () => {
        for (const [cc, allowed] of [['max-age=60', false], ['private, max-age=60', false], ['public, max-age=60', true], ['s-maxage=60', true], ['must-revalidate, max-age=60', true]]) {
          const path = `/auth-${cc.replace(/\W+/g, '-')}?cc=${encodeURIComponent(cc)}`
          const alice = await get(path, { authorization: 'Bearer alice' })
          assert.equal(alice.auth, 'Bearer alice')
          const again = await get(path, { authorization: 'Bearer alice' })
          const anonymous = await get(path)
          const p = path.split('?')[0]
          // s-maxage applies to shared caches only: a private cache has no freshness for it.
          const stored = allowed && !(type === 'private' && cc === 's-maxage=60')
          if (stored) {
            assert.equal(again.n, 1, `${cc}: a hit`)
            assert.equal(o.hits.get(p), 1)
          } else {
            assert.equal(again.n, 2, `${cc}: not stored`)
            assert.equal(anonymous.auth, null, `${cc}: an anonymous request never gets alice's response`)
            assert.equal(anonymous.n, 3)
          }
        }
      })

      test(`private: ${type === 'shared' ? 'never stored' : 'stored'}; no-store: never stored`, async () => {
        await get('/private?cc=private,max-age=60')
        const second = await get('/private?cc=private,max-age=60')
        assert.equal(second.n, type === 'shared' ? 2 : 1)
        await get('/nostore?cc=no-store,max-age=60')
        assert.equal((await get('/nostore?cc=no-store,max-age=60')).n, 2)
      })

      // undici's interceptor (documented in docs/SECURITY.md): a shared cache
      // does not store a response with Set-Cookie at all (even public); a
      // private cache stores it with the header.
      test(`Set-Cookie: ${type === 'shared' ? 'never stored' : 'stored with its Set-Cookie'}`, async () => {
        await get('/cookie?cookie=1&cc=public,max-age=60')
        const res = await request(o.url + '/cookie?cookie=1&cc=public,max-age=60', { dispatcher: agent })
        const body = JSON.parse(await res.body.text())
        assert.equal(body.n, type === 'shared' ? 2 : 1)
        assert.equal(res.headers['set-cookie'], 'session=alice')
      })

      test('Vary: another value, an absent or empty header, never gets the stored variant', async () => {
        const path = '/vary?vary=accept-language'
        assert.equal((await get(path, { 'accept-language': 'en' })).lang, 'en')
        assert.deepEqual(await get(path, { 'accept-language': 'en' }), { path: '/vary', n: 1, auth: null, lang: 'en', enc: null }, 'a hit')
        assert.equal((await get(path, { 'Accept-Language': 'en' })).n, 1, 'header name case does not matter')
        assert.equal((await get(path, { 'accept-language': 'de' })).lang, 'de')
        assert.equal((await get(path)).lang, null)
        const empty = await get(path, { 'accept-language': '' })
        assert.equal(empty.lang, '', 'empty is not absent')
        // Each variant is served to its own requests only.
        assert.equal((await get(path, { 'accept-language': 'en' })).lang, 'en')
        assert.equal((await get(path, { 'accept-language': 'de' })).lang, 'de')
        assert.equal((await get(path)).lang, null)
        assert.equal((await get(path, { 'accept-language': '' })).lang, '')
        assert.equal(o.hits.get('/vary'), 4)
      })

      test('several Vary fields, and Vary: *', async () => {
        const path = '/vary2?vary=accept-language,%20accept-encoding'
        await get(path, { 'accept-language': 'en', 'accept-encoding': 'gzip' })
        assert.equal((await get(path, { 'accept-language': 'en', 'accept-encoding': 'br' })).enc, 'br')
        assert.equal((await get(path, { 'accept-language': 'en' })).enc, null)
        assert.equal((await get(path, { 'accept-language': 'en', 'accept-encoding': 'gzip' })).n, 1)
        await get('/star?vary=*')
        assert.equal((await get('/star?vary=*')).n, 2, 'Vary: * is never reused')
      })
    })
  }
}

// ---------------------------------------------------------------------------
// Key isolation in the stores (no normalisation: the caller's origin is the key)

const value = () => {
  const now = Date.now()
  return { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: now + 60_000, deleteAt: now + 120_000 }
}
const text = async (r) => r === undefined ? undefined : Buffer.concat((await r).body).toString()

for (const [name, make] of STORES) {
  test(`${name}: keys never collide across origin/path splits, schemes, ports, case or methods`, async () => {
    const store = make()
    const keys = [
      ['http://a:1', '/x'], ['http://a', ':1/x'], ['http://a:', '1/x'], ['http:', '//a:1/x'],
      ['http://a', '/x'], ['https://a', '/x'], ['http://A', '/x'], ['http://a:80', '/x'], ['http://a.', '/x'],
      ['http://a', '/X'], ['http://a', '/x?'], ['http://a', '/x#'], ['', 'http://a/x'], ['http://a/x', ''],
      ['http://a', '/\uD800'], ['http://a', '/\uDBFF'], ['http://a', '/\uFFFD'], ['http://a', '/%uD800'],
      ['http://a', '/x\u0000'], ['7:http://a', '/x'], ['http://a', '/x\n'], ['1', '0:/x']
    ]
    for (const [i, [origin, path]] of keys.entries()) {
      store.createWriteStream({ origin, path, method: 'GET', headers: {} }, value()).end(`body ${i}`)
    }
    for (const [i, [origin, path]] of keys.entries()) {
      assert.equal(await text(store.get({ origin, path, method: 'GET', headers: {} })), `body ${i}`, JSON.stringify([origin, path]))
      // GET and HEAD entries are separate: a HEAD lookup never gets a GET body.
      assert.equal(await store.get({ origin, path, method: 'HEAD', headers: {} }), undefined)
    }
    store.createWriteStream({ origin: 'http://a', path: '/x', method: 'HEAD', headers: {} }, value()).end('')
    assert.equal(await text(store.get({ origin: 'http://a', path: '/x', method: 'HEAD', headers: {} })), '')
    assert.equal(await text(store.get({ origin: 'http://a', path: '/x', method: 'GET', headers: {} })), `body ${keys.findIndex(([o, p]) => o === 'http://a' && p === '/x')}`)
    // delete() of one key removes that key only (every method of it).
    store.delete({ origin: 'http://a', path: ':1/x' })
    assert.equal(await store.get({ origin: 'http://a', path: ':1/x', method: 'GET', headers: {} }), undefined)
    assert.equal(await text(store.get({ origin: 'http://a:1', path: '/x', method: 'GET', headers: {} })), 'body 0')
    assert.equal(store.count, keys.length)
    store.close?.()
  })
}

test('the same path on two origins (ports) through undici is never cross-served', async () => {
  for (const [, make] of STORES) {
    const [a, b] = [await origin(), await origin()]
    const store = make()
    const agent = new Agent().compose(interceptors.cache({ store }))
    const body = async (url) => JSON.parse(await (await request(url + '/same', { dispatcher: agent })).body.text())
    assert.equal((await body(a.url)).n, 1)
    assert.equal((await body(b.url)).n, 1)
    assert.equal((await body(a.url)).n, 1, 'a hit from a')
    assert.equal(a.hits.get('/same') + b.hits.get('/same'), 2)
    await agent.close()
    a.server.close()
    b.server.close()
    store.close?.()
  }
})

// ---------------------------------------------------------------------------
// vsf page cache: keyPrefix + key

test('vsf: drivers sharing a cache by name never read each other\'s pages across prefixes', async () => {
  const name = 'shared-cache-safety'
  const page = (p) => ({ html: p })
  const call = (route, html) => ({ route, render: () => page(html), getTags: () => ['T'] })
  const a = createVsfDriver({ name, keyPrefix: 'a' })
  const ab = createVsfDriver({ name, keyPrefix: 'ab' })
  const none = createVsfDriver({ name })
  // 'a' + 'page:' + ... vs 'ab' + ... : the same concatenation, different keys.
  assert.deepEqual(await a.invoke({ key: 'bc', render: () => page('a/bc'), getTags: () => ['T'] }), page('a/bc'))
  assert.deepEqual(await ab.invoke({ key: 'c', render: () => page('ab/c'), getTags: () => ['T'] }), page('ab/c'))
  assert.deepEqual(await none.invoke({ key: 'abc', render: () => page('/abc'), getTags: () => ['T'] }), page('/abc'))
  assert.deepEqual(await none.invoke({ key: '1:abc', render: () => page('/1:abc'), getTags: () => ['T'] }), page('/1:abc'))
  assert.equal(none.stats().count, 4)
  // Each is a hit for its own driver only.
  assert.deepEqual(await a.invoke({ key: 'bc', render: () => assert.fail('hit expected') }), page('a/bc'))
  assert.deepEqual(await ab.invoke({ key: 'c', render: () => assert.fail('hit expected') }), page('ab/c'))
  assert.deepEqual(await none.invoke({ key: 'abc', render: () => assert.fail('hit expected') }), page('/abc'))
  // Routes with lone surrogates stay distinct (UTF-8 would merge them into U+FFFD).
  for (const r of ['/\uD800', '/\uDBFF', '/\uFFFD', '/%uD800']) await none.invoke(call(r, r))
  for (const r of ['/\uD800', '/\uDBFF', '/\uFFFD', '/%uD800']) {
    assert.deepEqual(await none.invoke({ route: r, render: () => assert.fail('hit expected') }), page(r))
  }
  // delete(route) removes its own driver's page only.
  await a.invoke(call('/p', 'a/p'))
  await ab.invoke(call('/p', 'ab/p'))
  assert.equal(ab.delete('/p'), true)
  assert.deepEqual(await a.invoke({ route: '/p', render: () => assert.fail('hit expected') }), page('a/p'))
  // Tags are cache-wide (documented): invalidating T drops every prefix's pages.
  const all = none.stats().count
  assert.equal(await a.invalidate({ tags: ['T'] }), all)
  assert.equal(none.stats().count, 0)
})
