// Fixtures for the VSF driver tests and bench: the real @vue-storefront/cache
// 2.8 module (nuxt/index.js) loaded the way Nuxt 2 loads modules (jiti, which
// Nuxt 2 itself uses: the module's files are ES modules that call `require`),
// a fake Nuxt module container around it, a node:http server on 127.0.0.1
// standing in for Nuxt's server, and a throwaway redis-server.

import { createRequire } from 'node:module'
import { once } from 'node:events'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const jiti = require('jiti')(fileURLToPath(import.meta.url), { interopDefault: true })

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** What `'ferrocache/vsf'` resolves to (package.json exports). */
export const ourDriverPath = require.resolve('ferrocache/vsf')
export const redisDriverPath = require.resolve('@vue-storefront/redis-cache')
export const defaultHandlerPath = require.resolve('@vue-storefront/cache/defaultHandler')

const cacheModule = jiti(require.resolve('@vue-storefront/cache/nuxt/index.js')).default

/**
 * A page as Nuxt 2's `renderer.renderRoute` resolves it.
 * @param {string} route
 * @param {number} version how many times the route has been rendered
 * @param {number} [pad] extra bytes of HTML
 */
export function page (route, version, pad = 0) {
  return {
    html: `<!doctype html><html><body><div id="__nuxt">${route} v${version}${'x'.repeat(pad)}</div></body></html>`,
    cspScriptSrcHashes: [],
    error: null,
    redirected: false,
    preloadFiles: [{ file: 'app.js', asType: 'script', extension: 'js', fileWithoutQuery: 'app.js' }]
  }
}

/**
 * Installs the real module on a fake Nuxt module container.
 * `tags[route]` lists the `{ prefix, value }` tags components add while the
 * route renders (what `useCache().addTags` does); `failNext[route]` makes the
 * next render of the route throw.
 */
export function installModule ({ driver, invalidation = {
  endpoint: '/cache-invalidate',
  key: 'secret',
  handlers: [defaultHandlerPath]
}, pad = 0, renderDelay = 0 } = {}) {
  const renders = new Map()
  const tags = {}
  const failNext = {}
  const middleware = []
  const plugins = []
  const options = { enabled: true, invalidation, driver }
  const renderer = {
    // Nuxt 2's VueRenderer#renderRoute: runs the app (the module's server
    // plugin sets req.$vsfCache, components add tags) and resolves to the page.
    async renderRoute (route, context) {
      context.req.$vsfCache = { ...options, tagsSet: new Set() }
      // A function: the delay of each render (the multi-instance tests change it).
      const delay = typeof renderDelay === 'function' ? renderDelay() : renderDelay
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay))
      else await new Promise((resolve) => setImmediate(resolve))
      const n = (renders.get(route) ?? 0) + 1
      renders.set(route, n)
      if (failNext[route]) {
        failNext[route] = false
        throw new Error(`render of ${route} failed`)
      }
      for (const t of tags[route] ?? []) context.req.$vsfCache.tagsSet.add(t)
      return page(route, n, pad)
    }
  }
  const container = {
    nuxt: { renderer, hook () {}, options: {} },
    options: {},
    addPlugin (p) { plugins.push(p) },
    addServerMiddleware (m) { middleware.push(m) }
  }
  cacheModule.call(container, options)
  return {
    renderer,
    middleware,
    plugins,
    tags,
    failNext,
    renders: (route) => renders.get(route) ?? 0,
    /** A request through the wrapped renderRoute, as Nuxt's server makes it. */
    get: (route) => renderer.renderRoute(route, { req: { url: route, headers: {} }, res: {} })
  }
}

/**
 * A node:http server standing in for Nuxt's (connect + express-style helpers,
 * which the module's endpoint uses: `response.status(200).send(...)`).
 * Server middleware is mounted by path the way connect mounts it (the path is
 * stripped from `req.url`); other URLs render through the wrapped renderRoute.
 */
export async function serve (installed) {
  const server = http.createServer(async (req, res) => {
    res.status = (code) => { res.statusCode = code; return res }
    res.send = (body) => { res.end(body) }
    for (const m of installed.middleware) {
      if (req.url === m.path || req.url.startsWith(m.path + '/') || req.url.startsWith(m.path + '?')) {
        req.originalUrl = req.url
        req.url = req.url.slice(m.path.length)
        if (!req.url.startsWith('/')) req.url = '/' + req.url
        return m.handler(req, res)
      }
    }
    try {
      const result = await installed.renderer.renderRoute(req.url, { req, res })
      res.setHeader('content-type', 'text/html')
      res.end(result.html)
    } catch (err) {
      res.statusCode = 500
      res.end(String(err))
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const base = `http://127.0.0.1:${server.address().port}`
  return {
    base,
    async fetch (p) {
      const r = await fetch(base + p)
      return { status: r.status, headers: r.headers, text: await r.text() }
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(resolve)
    })
  }
}

// The throwaway redis-server is the Redis suites' (helpers/redis-server.mjs):
// `redisUnavailable()` says why it cannot run here, and throws under CI.
export { startRedis, redisSkipReason as redisUnavailable } from './helpers/redis-server.mjs'

/**
 * Driver options for @vue-storefront/redis-cache on a test server: no
 * reconnects, so its client ends (and the process can exit) once the server stops.
 */
export function redisDriverOptions (port, extra = {}) {
  return { redis: { host: '127.0.0.1', port, retryStrategy: () => null }, ...extra }
}

/** A driver created the way the module creates it: `require(path).default(options)` under jiti. */
export function loadDriver (driverPath, options) {
  return jiti(driverPath).default(options)
}
