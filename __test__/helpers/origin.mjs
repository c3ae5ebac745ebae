// The origin server the end-to-end interceptor suite (integration.test.mjs)
// runs against: it logs what it receives per path, so "served from cache"
// means "the origin saw nothing".
import { before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { createRequire } from 'node:module'

const { request } = createRequire(import.meta.url)('undici')

/** Per-path log of what the origin received. */
export const seen = new Map()
export function log (path) {
  if (!seen.has(path)) seen.set(path, [])
  return seen.get(path)
}
/** Versions of stateful resources. */
export const state = new Map()

export function handle (req, res) {
  const url = new URL(req.url, 'http://x')
  const path = url.pathname
  log(path).push({ method: req.method, headers: req.headers })
  const kind = path.split('/')[2] // /<store>/<kind>/...
  const n = log(path).length

  switch (kind) {
    case 'fresh':
      res.writeHead(200, { 'cache-control': 'public, max-age=60', 'content-type': 'text/plain' })
      return res.end(`fresh #${n}`)
    case 'vary': {
      const enc = req.headers['accept-encoding'] ?? 'none'
      res.writeHead(200, { 'cache-control': 'public, max-age=60', vary: 'accept-encoding' })
      return res.end(`enc:${enc} #${n}`)
    }
    case 'nostore':
      res.writeHead(200, { 'cache-control': 'no-store' })
      return res.end(`nostore #${n}`)
    case 'resource':
      if (req.method === 'POST') {
        res.writeHead(200, { 'content-type': 'text/plain' })
        return res.end('updated')
      }
      res.writeHead(200, { 'cache-control': 'public, max-age=60' })
      return res.end(`resource #${n}`)
    case 'etag': {
      // Revalidation-only entry (max-age=0 with a validator): every reuse asks the origin first.
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' })
        return res.end()
      }
      res.writeHead(200, { etag: '"v1"', 'cache-control': 'public, max-age=0' })
      return res.end(`etag body #${n}`)
    }
    case 'swr': {
      // First a response that is stale at once but may be served stale for 60 s while it is
      // revalidated; the revalidation gets a 304 that makes it fresh for 60 s.
      const s = state.get(path) ?? { revalidated: 0 }
      state.set(path, s)
      if (req.headers['if-none-match'] === '"s1"') {
        s.revalidated++
        res.writeHead(304, { etag: '"s1"', 'cache-control': 'public, max-age=60, stale-while-revalidate=60' })
        res.end()
        s.onRevalidated?.()
        return
      }
      res.writeHead(200, { etag: '"s1"', 'cache-control': 'public, max-age=0, stale-while-revalidate=60' })
      return res.end(`swr body #${n}`)
    }
    default:
      res.writeHead(404)
      return res.end()
  }
}

let server
export let origin

/** Starts the origin before the file's tests and stops it after (call at top level). */
export function useOrigin () {
  before(async () => {
    server = http.createServer(handle)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    origin = `http://127.0.0.1:${server.address().port}`
  })
  after(async () => {
    server.closeAllConnections()
    server.close()
  })
}

/** GET `path` from the origin through `dispatcher`. */
export async function get (dispatcher, path, headers = {}) {
  const res = await request(`${origin}${path}`, { dispatcher, headers })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text }
}

/** Waits (bounded, not timed) until `cond()` holds. */
export async function until (cond, what) {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return
    await sleep(5)
  }
  assert.fail(`gave up waiting for ${what}`)
}
