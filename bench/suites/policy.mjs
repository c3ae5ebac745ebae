// CachePolicy vs http-cache-semantics 4.3 on the realistic exchange (`workload()`
// below; protocol: docs/ARCHITECTURE.md, "Benchmarks"), in the same process, interleaved.
import { createRequire } from 'node:module'
import { interleave } from '../measure.mjs'

const require = createRequire(import.meta.url)
const { CachePolicy } = require('../../index.js')
const binding = require('../../binding.js')
const Peer = require('http-cache-semantics')

export const name = 'policy'

const PEER = 'http-cache-semantics 4.3'

function workload () {
  const req = {
    url: '/products/123',
    method: 'GET',
    headers: {
      host: 'shop.example.com',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'accept-encoding': 'gzip, deflate, br',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
      cookie: 'session=abc123; theme=dark'
    }
  }
  const now = Date.now()
  const res = {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=300, stale-while-revalidate=60',
      date: new Date(now).toUTCString(),
      etag: '"5f3c-1a2b3c4d"',
      'last-modified': new Date(now - 86400000).toUTCString(),
      vary: 'accept-encoding',
      'content-length': '16384',
      server: 'nginx/1.25.3'
    }
  }
  return { req, res }
}

function row (label, r, target, note) {
  return {
    row: label,
    unit: 'ns',
    ours: Math.round(r.ours),
    peer: Math.round(r.peer),
    ratio: Math.round((r.ours / r.peer) * 100) / 100,
    peerName: PEER,
    target,
    better: 'lower',
    note
  }
}

export default async function run () {
  const { req, res } = workload()
  const opts = { batch: 1000, batches: 100, warmup: 20, rounds: 5 }
  const rows = []

  rows.push(row('new+storable+timeToLive', interleave(
    () => { const p = new CachePolicy(req, res); p.storable(); return p.timeToLive() },
    () => { const p = new Peer(req, res); p.storable(); return p.timeToLive() },
    opts), 0.5, 'constructor: one call (packed header string); timeToLive: one call of numbers'))

  // The shell memoizes parsed values per string. Every response here has its
  // own Date and Last-Modified (10 000 distinct strings of each, more than the
  // memo keeps): with max-age they are not even parsed; with a heuristic
  // lifetime (no max-age) each construction parses both in Rust: the worst case.
  const base = Date.now()
  const distinct = (cacheControl) => Array.from({ length: 10000 }, (_, i) => ({
    status: 200,
    headers: {
      ...res.headers,
      'cache-control': cacheControl,
      date: new Date(base - i * 1000).toUTCString(),
      'last-modified': new Date(base - 86400000 - i * 7000).toUTCString()
    }
  }))
  for (const [label, list] of [['distinct dates, max-age', distinct(res.headers['cache-control'])],
    ['distinct dates, heuristic lifetime', distinct('public, stale-while-revalidate=60')]]) {
    rows.push(row(`new+storable+timeToLive (${label})`, interleave(
      (i) => { const p = new CachePolicy(req, list[i % 10000]); p.storable(); return p.timeToLive() },
      (i) => { const p = new Peer(req, list[i % 10000]); p.storable(); return p.timeToLive() },
      opts), null, 'Date/Last-Modified never seen before'))
  }

  const ours = new CachePolicy(req, res)
  const peer = new Peer(req, res)
  if (!ours.satisfiesWithoutRevalidation(req) || !peer.satisfiesWithoutRevalidation(req)) {
    throw new Error('bench workload must be a fresh hit')
  }
  rows.push(row('satisfiesWithoutRevalidation', interleave(
    () => ours.satisfiesWithoutRevalidation(req),
    () => peer.satisfiesWithoutRevalidation(req),
    opts), 0.5, 'matching in JS, freshness decision one call; the peer also builds responseHeaders'))

  rows.push(row('responseHeaders', interleave(
    () => ours.responseHeaders(),
    () => peer.responseHeaders(),
    opts), 0.7, 'filtered headers memoized per policy, Date string per second'))

  rows.push(row('responseHeaders (first call)', interleave(
    () => new CachePolicy(req, res).responseHeaders(),
    () => new Peer(req, res).responseHeaders(),
    opts), null, 'includes new; the hop-by-hop filter runs on every new policy'))

  const obj = JSON.parse(JSON.stringify(peer.toObject()))
  rows.push(row('fromObject+satisfies', interleave(
    () => CachePolicy.fromObject(obj).satisfiesWithoutRevalidation(req),
    () => Peer.fromObject(obj).satisfiesWithoutRevalidation(req),
    opts), 0.5, 'same JSON object for both'))

  rows.push(row('toObject', interleave(
    () => ours.toObject(),
    () => peer.toObject(),
    opts), null, 'directive objects built once per policy'))

  rows.push(row('evaluateRequest (hit)', interleave(
    () => ours.evaluateRequest(req),
    () => peer.evaluateRequest(req),
    opts), null, ''))

  const floor = interleave(() => binding.noop(), () => undefined, opts)
  rows.push({
    row: 'floor: no-op N-API call',
    unit: 'ns',
    ours: Math.round(floor.ours),
    peer: null,
    peerName: null,
    target: null,
    better: 'lower',
    note: 'the cost of one crossing'
  })
  return rows
}
