// The real @vue-storefront/cache 2.8 module (nuxt/index.js + defaultHandler)
// driving ferrocache/vsf and, on a real redis-server, the driver it replaces,
// @vue-storefront/redis-cache 2.0. The same scenarios run against both; where
// the two differ on purpose the test says so and pins each side.

import { test, describe, before, after, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  installModule, serve, page, root, ourDriverPath, redisDriverPath,
  startRedis, redisUnavailable, redisDriverOptions
} from './vsf-fixture.mjs'

const P = (value) => ({ prefix: 'P', value })
const C = (value) => ({ prefix: 'C', value })

/** Lets a driver's fire-and-forget write reach its store (the Redis driver does not await `set`). */
const settle = () => new Promise((resolve) => setImmediate(resolve))

function scenarios (name, makeDriver, { coalesces, ready }) {
  let app
  let http

  beforeEach(async () => {
    app = installModule({ driver: await makeDriver() })
    http = await serve(app)
    if (ready) await ready(app)
  })
  afterEach(async () => {
    await http.close()
  })

  test(`${name}: the module registers its plugin and the invalidation endpoint`, () => {
    assert.equal(app.plugins.length, 1)
    assert.deepEqual(app.middleware.map((m) => m.path), ['/cache-invalidate'])
  })

  test(`${name}: a tagged page is rendered on a miss and served from cache on the next request`, async () => {
    app.tags['/p/1'] = [P('1'), C('shoes')]
    const first = await app.get('/p/1')
    assert.deepEqual(first, page('/p/1', 1))
    await settle()
    const second = await app.get('/p/1')
    // Pins the module + Redis driver: a hit resolves to an equal object, render not called.
    assert.deepEqual(second, page('/p/1', 1))
    assert.equal(app.renders('/p/1'), 1)
  })

  test(`${name}: a page with no tags is returned but not cached`, async () => {
    const first = await app.get('/account')
    await settle()
    const second = await app.get('/account')
    assert.deepEqual(first, page('/account', 1))
    assert.deepEqual(second, page('/account', 2))
    assert.equal(app.renders('/account'), 2)
  })

  test(`${name}: the endpoint with the right key drops only pages carrying the tags`, async () => {
    app.tags['/p/1'] = [P('1'), C('shoes')]
    app.tags['/p/2'] = [P('2'), C('shoes')]
    app.tags['/p/3'] = [P('3'), C('hats')]
    for (const r of ['/p/1', '/p/2', '/p/3']) await http.fetch(r)
    await settle()
    const res = await http.fetch('/cache-invalidate?key=secret&tags=P1,Chats')
    // Pins the module: 200 and its fixed body after the driver's invalidate resolves.
    assert.equal(res.status, 200)
    assert.equal(res.text, 'Cache invalidated successfully!')
    for (const r of ['/p/1', '/p/2', '/p/3']) await http.fetch(r)
    assert.deepEqual([app.renders('/p/1'), app.renders('/p/2'), app.renders('/p/3')], [2, 1, 2])
  })

  test(`${name}: the endpoint with a wrong key drops nothing`, async () => {
    app.tags['/p/1'] = [P('1')]
    await http.fetch('/p/1')
    await settle()
    const res = await http.fetch('/cache-invalidate?key=wrong&tags=P1')
    // Pins the module: defaultHandler yields no tags, the driver gets [], still 200.
    assert.equal(res.status, 200)
    await http.fetch('/p/1')
    assert.equal(app.renders('/p/1'), 1)
  })

  test(`${name}: the '*' tag drops every page`, async () => {
    app.tags['/p/1'] = [P('1')]
    app.tags['/c/1'] = [C('1')]
    await http.fetch('/p/1')
    await http.fetch('/c/1')
    await settle()
    const res = await http.fetch('/cache-invalidate?key=secret&tags=*')
    assert.equal(res.status, 200)
    await http.fetch('/p/1')
    await http.fetch('/c/1')
    assert.deepEqual([app.renders('/p/1'), app.renders('/c/1')], [2, 2])
  })

  test(`${name}: a failing render is not cached; the module falls back to rendering again`, async () => {
    app.tags['/p/9'] = [P('9')]
    app.failNext['/p/9'] = true
    // Pins the module: the driver's rejection is logged and `render()` is called
    // once more outside the driver; that page is served but not cached.
    const first = await app.get('/p/9')
    assert.deepEqual(first, page('/p/9', 2))
    await settle()
    const second = await app.get('/p/9')
    assert.deepEqual(second, page('/p/9', 3), 'the fallback render was not cached')
    await settle()
    assert.deepEqual(await app.get('/p/9'), page('/p/9', 3), 'a normal miss is cached')
  })

  test(`${name}: 100 concurrent requests for one route`, async () => {
    app.tags['/p/hot'] = [P('hot')]
    // Issued in one tick through the wrapped renderRoute, so every request
    // reaches the driver before any render finishes.
    const results = await Promise.all(Array.from({ length: 100 }, () => app.get('/p/hot')))
    for (const r of results) assert.deepEqual(r, page('/p/hot', 1 + (coalesces ? 0 : results.indexOf(r))))
    if (coalesces) {
      assert.equal(app.renders('/p/hot'), 1)
    } else {
      // Pins @vue-storefront/redis-cache: no request coalescing; all 100 GETs
      // miss and every request renders.
      assert.equal(app.renders('/p/hot'), 100)
    }
  })
}

describe('@vue-storefront/cache 2.8 with ferrocache/vsf', () => {
  scenarios('ferrocache/vsf', () => [ourDriverPath, { maxSize: 512e6, ttl: 86400 }], { coalesces: true })

  test('ferrocache/vsf: 100 concurrent HTTP requests for one route render once', async () => {
    const app = installModule({ driver: [ourDriverPath, {}], renderDelay: 20 })
    const http = await serve(app)
    try {
      app.tags['/p/hot'] = [P('hot')]
      const bodies = await Promise.all(Array.from({ length: 100 }, () => http.fetch('/p/hot')))
      assert.equal(app.renders('/p/hot'), 1)
      for (const b of bodies) assert.equal(b.text, page('/p/hot', 1).html)
    } finally {
      await http.close()
    }
  })

  test('ferrocache/vsf: the nuxt.config.js line from the docs, resolved by package name from the app directory', async () => {
    // Pins the module's helpers: driver and handler names are resolved with
    // require.resolve(name, { paths: [process.cwd()] }), then `.default(options)`.
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'vsf-app-'))
    const cwd = process.cwd()
    try {
      fs.mkdirSync(path.join(app, 'node_modules'))
      fs.symlinkSync(root, path.join(app, 'node_modules', 'ferrocache'), 'dir')
      fs.symlinkSync(path.join(root, 'node_modules', '@vue-storefront'), path.join(app, 'node_modules', '@vue-storefront'), 'dir')
      process.chdir(app)
      const installed = installModule({
        invalidation: { endpoint: '/cache-invalidate', key: 'secret', handlers: ['@vue-storefront/cache/defaultHandler'] },
        driver: ['ferrocache/vsf', { maxSize: 512e6, ttl: 86400 }]
      })
      const http = await serve(installed)
      try {
        installed.tags['/p/1'] = [P('1')]
        await http.fetch('/p/1')
        await http.fetch('/p/1')
        assert.equal(installed.renders('/p/1'), 1)
        const res = await http.fetch('/cache-invalidate?key=secret&tags=P1')
        assert.equal(res.status, 200)
        await http.fetch('/p/1')
        assert.equal(installed.renders('/p/1'), 2)
      } finally {
        await http.close()
      }
    } finally {
      process.chdir(cwd)
      fs.rmSync(app, { recursive: true, force: true })
    }
  })

  test('ferrocache/vsf: a driver error (no usable route) falls back to render', async () => {
    const app = installModule({ driver: [ourDriverPath, {}] })
    // The driver rejects with a TypeError; the module logs it and renders.
    const result = await app.renderer.renderRoute(42, { req: {}, res: {} })
    assert.deepEqual(result, page(42, 1))
  })

  test('ferrocache/vsf: invalidatedHeader reports the count of dropped pages', async () => {
    const app = installModule({ driver: [ourDriverPath, { invalidatedHeader: 'x-cache-invalidated' }] })
    const http = await serve(app)
    try {
      app.tags['/a'] = [C('1')]
      app.tags['/b'] = [C('1')]
      app.tags['/c'] = [C('2')]
      for (const r of ['/a', '/b', '/c']) await http.fetch(r)
      let res = await http.fetch('/cache-invalidate?key=secret&tags=C1')
      assert.equal(res.headers.get('x-cache-invalidated'), '2')
      res = await http.fetch('/cache-invalidate?key=wrong&tags=C2')
      assert.equal(res.headers.get('x-cache-invalidated'), '0')
      res = await http.fetch('/cache-invalidate?key=secret&tags=*')
      assert.equal(res.headers.get('x-cache-invalidated'), '1')
    } finally {
      await http.close()
    }
  })
})

const whyNot = redisUnavailable()
if (whyNot) console.log(`skipping @vue-storefront/redis-cache scenarios: ${whyNot}`)

describe('@vue-storefront/cache 2.8 with @vue-storefront/redis-cache 2.0 (peer)', { skip: whyNot ?? false }, () => {
  let redis
  before(async () => { redis = await startRedis() })
  after(async () => { await redis?.stop() })
  beforeEach(async () => { await redis.flush() })

  scenarios('redis-cache', () => [redisDriverPath, redisDriverOptions(redis.port)], { coalesces: false })
})

/**
 * Waits (bounded) until the module's driver caches pages: a fresh driver with
 * `redis.url` renders without storing until it has read the tag versions, and
 * refuses a render that overlapped that read (docs/vsf.md, Multi-instance).
 * A throwaway tagged route is fetched until its second fetch is a hit.
 */
async function untilShared (app) {
  const route = '/__ready'
  app.tags[route] = ['ready']
  for (let i = 0; i < 200; i++) {
    const before = app.renders(route)
    await app.get(route)
    if (before > 0 && app.renders(route) === before) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('the driver never started caching pages')
}

describe('@vue-storefront/cache 2.8 with ferrocache/vsf on Redis (redis.url set)', { skip: whyNot ?? false }, () => {
  let redis
  before(async () => { redis = await startRedis() })
  after(async () => { await redis?.stop() })
  beforeEach(async () => { await redis.flush() })

  // The same scenarios, each with a fresh driver (and an empty Redis): a
  // driver is usable at once; pages are shared once it has read the versions.
  scenarios('ferrocache/vsf + redis', () => {
    const options = { maxSize: 512e6, ttl: 86400, redis: { url: `redis://127.0.0.1:${redis.port}`, keyPrefix: 'module:' } }
    return [ourDriverPath, options]
  }, { coalesces: true, ready: untilShared })
})
