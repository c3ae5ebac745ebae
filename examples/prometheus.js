'use strict'
// A caching reverse proxy that exposes the store's stats() to Prometheus at
// /metrics (prom-client formats the exposition text).
//
//   node examples/prometheus.js            # proxy on :8080 -> a demo origin
//   curl localhost:8080/products/1; curl localhost:8080/metrics
const http = require('node:http')
const { once } = require('node:events')
const { Agent, interceptors, request } = require('undici')
const client = require('prom-client')
const { MemoryCacheStore } = require('..')

/** Registers the store's counters and gauges; values are read at scrape time. */
function storeMetrics (store, registry, name = 'ferrocache') {
  const read = (field) => store.stats()[field]
  const counter = (metric, help, field) => new client.Counter({
    name: `${name}_${metric}`,
    help,
    registers: [registry],
    collect () {
      this.reset()
      this.inc(read(field))
    }
  })
  const gauge = (metric, help, field) => new client.Gauge({
    name: `${name}_${metric}`,
    help,
    registers: [registry],
    collect () { this.set(read(field)) }
  })
  counter('hits_total', 'Lookups served from the cache', 'hits')
  counter('misses_total', 'Lookups not served from the cache', 'misses')
  counter('writes_total', 'Responses stored', 'writes')
  counter('evictions_total', 'Responses evicted to respect maxSize/maxCount', 'evictions')
  counter('expired_total', 'Responses removed after their deleteAt', 'expired')
  gauge('bytes', 'Bytes of cached bodies', 'size')
  gauge('entries', 'Cached responses', 'count')
  gauge('hit_ratio', 'hits / (hits + misses)', 'hitRatio')
}

async function main ({ port = Number(process.env.PORT ?? 8080) } = {}) {
  const origin = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'public, max-age=60' })
    res.end(`origin says hello to ${req.url}\n`)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  const upstream = `http://127.0.0.1:${origin.address().port}`

  const store = new MemoryCacheStore({ maxSize: 64e6 })
  const agent = new Agent().compose(interceptors.cache({ store }))
  const registry = new client.Registry()
  storeMetrics(store, registry)

  const proxy = http.createServer(async (req, res) => {
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType })
      return res.end(await registry.metrics())
    }
    try {
      const up = await request(upstream + req.url, { dispatcher: agent, method: req.method })
      res.writeHead(up.statusCode, up.headers)
      for await (const chunk of up.body) res.write(chunk)
      res.end()
    } catch (err) {
      res.writeHead(502).end(String(err))
    }
  })
  proxy.listen(port, '127.0.0.1')
  await once(proxy, 'listening')
  console.log(`proxy on http://127.0.0.1:${proxy.address().port} (metrics at /metrics)`)
  return { proxy, origin, agent, store, registry }
}

module.exports = { storeMetrics, main }
if (require.main === module) main().catch((err) => { console.error(err); process.exit(1) })
