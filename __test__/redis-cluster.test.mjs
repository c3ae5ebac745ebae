// RedisCacheStore on a local 3-master Redis Cluster (redis-server
// --cluster-enabled yes ×3 + redis-cli --cluster create, started here).
// Pins issue 12: one URL's variants live under one hash tag, so no command
// spans slots; resources spread over every master; delete and L1 coherence
// work across instances.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { spawnSync } from 'node:child_process'
import { startCluster, redisSkipReason } from './helpers/redis-server.mjs'
import { cacheKey, cacheValue, put, bodyOf } from './helpers/store-contract.mjs'

const require = createRequire(import.meta.url)
const { RedisCacheStore } = require('../index.js')

const skip = redisSkipReason() ?? false
let cluster
const stores = []
before(async () => { if (!skip) cluster = await startCluster() })
after(async () => {
  for (const s of stores) await s.close()
  await cluster?.stop()
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const open = (opts) => { const s = new RedisCacheStore({ url: cluster.urls, keyPrefix: 'cl:', ...opts }); stores.push(s); return s }

test('a store on a 3-master cluster: variants, delete, keys on every master, coherent L1s', { skip, timeout: 60_000 }, async () => {
  const errors = []
  const a = open({ errorCallback: (e) => errors.push(e) })
  const b = open({ commandTimeout: 251, errorCallback: (e) => errors.push(e) })
  // Vary'd variants of one URL: one hash, one slot.
  const en = cacheKey('/c/v', { headers: { 'accept-language': 'en' } })
  const fr = cacheKey('/c/v', { headers: { 'accept-language': 'fr' } })
  await put(a, en, 'en', cacheValue({ vary: { 'accept-language': 'en' } }))
  await put(a, fr, 'fr', cacheValue({ vary: { 'accept-language': 'fr' } }))
  assert.equal(bodyOf(await b.get(en)).toString(), 'en')
  assert.equal(bodyOf(await b.get(fr)).toString(), 'fr')

  // 30 resources land on every master (each key's slot from its hash tag).
  for (let i = 0; i < 30; i++) await put(a, cacheKey(`/c/${i}`), `body ${i}`)
  for (let i = 0; i < 30; i++) assert.equal(bodyOf(await b.get(cacheKey(`/c/${i}`))).toString(), `body ${i}`)
  const perNode = cluster.ports.map((port) => {
    const r = spawnSync('redis-cli', ['-p', String(port), 'DBSIZE'], { encoding: 'utf8' })
    return Number(r.stdout.trim())
  })
  assert.ok(perNode.every((n) => n > 0), `keys on every master: ${perNode}`)

  // B's L1 holds /c/0; A overwrites it: B stops serving the old body.
  await b.get(cacheKey('/c/0'))
  let l1 = false
  for (let i = 0; i < 200 && !l1; i++) { await sleep(5); await b.get(cacheKey('/c/0')); l1 = !(b.get(cacheKey('/c/0')) instanceof Promise) }
  assert.ok(l1, 'B serves /c/0 from its L1')
  await put(a, cacheKey('/c/0'), 'new')
  let fresh = false
  for (let i = 0; i < 200 && !fresh; i++) { fresh = bodyOf(await b.get(cacheKey('/c/0'))).toString() === 'new'; if (!fresh) await sleep(5) }
  assert.ok(fresh, 'B serves the new body')

  // A PUBLISH reaches the other nodes over the cluster bus, a little after
  // A's delete returned: B stops serving within that window (polled, bounded).
  await a.delete(cacheKey('/c/v'))
  let gone = false
  for (let i = 0; i < 200 && !gone; i++) {
    gone = (await b.get(en)) === undefined && (await b.get(fr)) === undefined
    if (!gone) await sleep(5)
  }
  assert.ok(gone, 'B stops serving both variants')
  assert.deepEqual(errors, [])
})
