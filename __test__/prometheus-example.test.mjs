// examples/prometheus.js: the store's stats() reach Prometheus text format
// through prom-client after real proxied requests.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { main } = require('../examples/prometheus.js')

test('metrics endpoint reports hits, misses, entries and bytes', async () => {
  const { proxy, origin, agent } = await main({ port: 0 })
  try {
    const base = `http://127.0.0.1:${proxy.address().port}`
    for (let i = 0; i < 3; i++) await (await fetch(`${base}/products/1`)).text()
    await (await fetch(`${base}/products/2`)).text()
    const text = await (await fetch(`${base}/metrics`)).text()
    const value = (name) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1])
    assert.match(text, /# TYPE ferrocache_hits_total counter/)
    assert.equal(value('ferrocache_hits_total'), 2)
    assert.equal(value('ferrocache_entries'), 2)
    assert.equal(value('ferrocache_misses_total'), 2)
    assert.ok(value('ferrocache_bytes') > 0)
    assert.equal(value('ferrocache_hit_ratio'), 0.5)
  } finally {
    proxy.close()
    origin.close()
    await agent.close()
  }
})
