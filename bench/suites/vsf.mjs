// Page cache: ferrocache/vsf vs @vue-storefront/redis-cache 2.0 (on a private
// local redis-server) and vs a plain JS Map driver, all driven through the real
// @vue-storefront/cache 2.8 module's wrapped renderRoute.
//
//   node --expose-gc bench/suites/vsf.mjs     (standalone; needs a release build)

import { pathToFileURL, fileURLToPath } from 'node:url'
import { timeEachAsync, median, settleGc } from '../measure.mjs'
import {
  installModule, loadDriver, ourDriverPath, redisDriverPath, startRedis, redisUnavailable, redisDriverOptions
} from '../../__test__/vsf-fixture.mjs'

export const name = 'vsf'

const PAGE_PAD = 50 * 1024 // ~50 KB of HTML per page
const HIT_ROUTES = 100 // round robin over 100 cached pages
const ROUNDS = 5
const CALLS = 2000
const INVALIDATE_PAGES = 100_000
const CATEGORIES = 1000 // 100 pages per category tag
const INVALIDATE_ROUNDS = 15

/** The simplest correct driver: a JS Map of rendered objects (no limits, no copies). */
function mapDriverFactory () {
  const pages = new Map()
  const byTag = new Map()
  return {
    async invoke ({ route, render, getTags }) {
      const key = `page:${route}`
      const hit = pages.get(key)
      if (hit !== undefined) return hit
      const content = await render()
      const tags = getTags()
      if (tags.length === 0) return content
      pages.set(key, content)
      for (const t of tags) {
        if (!byTag.has(t)) byTag.set(t, new Set())
        byTag.get(t).add(key)
      }
      return content
    },
    async invalidate ({ tags }) {
      for (const t of tags) {
        for (const key of byTag.get(t) ?? []) pages.delete(key)
        byTag.delete(t)
      }
    }
  }
}

/** The module installed with `driver`; pages `/p/0..n-1` cached, each tagged P<i> and C<i % CATEGORIES>. */
async function warmed (driver, { routes, pad }) {
  const app = installModule({ driver, pad })
  for (let i = 0; i < routes; i++) app.tags[`/p/${i}`] = [{ prefix: 'P', value: String(i) }, { prefix: 'C', value: String(i % CATEGORIES) }]
  for (let i = 0; i < routes; i += 500) {
    const batch = []
    for (let j = i; j < Math.min(routes, i + 500); j++) batch.push(app.get(`/p/${j}`))
    await Promise.all(batch)
  }
  // The Redis driver does not await its SET; a later GET on the same
  // connection is answered after every SET queued before it.
  await app.get('/p/0')
  await app.get('/p/0')
  if (app.renders('/p/0') !== 1) throw new Error('warm-up: /p/0 was not cached')
  return app
}

function hitLoop (app) {
  const ctx = { req: { url: '/', headers: {} }, res: {} }
  return (i) => app.renderer.renderRoute(`/p/${i % HIT_ROUTES}`, ctx)
}

export default async function run () {
  const rows = []
  const whyNot = redisUnavailable()
  let redis = null
  if (whyNot) console.log(`# vsf: skipping Redis rows: ${whyNot}`)
  else redis = await startRedis()
  try {
    // --- invoke hit, 50 KB page --------------------------------------------
    const ours = await warmed([ourDriverPath, { maxSize: 512e6 }], { routes: HIT_ROUTES, pad: PAGE_PAD })
    const map = await warmed(mapDriverFactoryPath(), { routes: HIT_ROUTES, pad: PAGE_PAD })
    const peer = redis && await warmed([redisDriverPath, redisDriverOptions(redis.port)], { routes: HIT_ROUTES, pad: PAGE_PAD })
    const sides = { ours: hitLoop(ours), map: hitLoop(map), ...(peer && { redis: hitLoop(peer) }) }
    const p50 = { ours: [], map: [], redis: [] }
    const p99 = { ours: [], map: [], redis: [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const [side, fn] of Object.entries(sides)) {
        const s = await timeEachAsync(fn, { calls: side === 'redis' ? CALLS / 4 : CALLS, warmup: 200 })
        p50[side].push(s.p50)
        p99[side].push(s.p99)
      }
    }
    const m = (xs) => xs.length ? median(xs) : null
    const hitNote = 'module renderRoute wrapper -> driver.invoke hit, 50 KB page, 100 pages round robin'
    rows.push(redis
      ? { row: 'invoke-hit p50', unit: 'ns', ours: m(p50.ours), peer: m(p50.redis), peerName: '@vue-storefront/redis-cache 2.0 (local redis-server)', target: 0.1, better: 'lower', note: hitNote }
      : { row: 'invoke-hit p50', unit: 'ns', ours: m(p50.ours), peer: null, skipped: whyNot })
    rows.push(redis
      ? { row: 'invoke-hit p99', unit: 'ns', ours: m(p99.ours), peer: m(p99.redis), peerName: '@vue-storefront/redis-cache 2.0 (local redis-server)', target: 0.1, better: 'lower', note: hitNote }
      : { row: 'invoke-hit p99', unit: 'ns', ours: m(p99.ours), peer: null, skipped: whyNot })
    rows.push({
      row: 'invoke-hit p50 vs Map', unit: 'ns', ours: m(p50.ours), peer: m(p50.map), peerName: 'plain JS Map driver', target: 1.2, better: 'lower',
      note: 'the Map driver hands back the same object with no crossing, copy, limits or tag index; ours: no N-API call on a memoised hit while nothing was removed, a shallow copy, and one call per 8 hits to report them (LRU, stats)'
    })
    rows.push({ row: 'invoke-hit p99 vs Map', unit: 'ns', ours: m(p99.ours), peer: m(p99.map), peerName: 'plain JS Map driver', target: null, better: 'lower' })
    await ours.renderer // keep references alive until here
    await settleGc()

    // --- invalidate one tag among 100k pages -------------------------------
    const small = 1024
    const oursDriver = loadDriver(ourDriverPath, { maxSize: Infinity })
    await fill(oursDriver, small)
    let peerDriver = null
    if (redis) {
      await redis.flush()
      peerDriver = loadDriver(redisDriverPath, redisDriverOptions(redis.port))
      await fill(peerDriver, small)
    }
    const tOurs = []
    const tPeer = []
    for (let r = 0; r < INVALIDATE_ROUNDS; r++) {
      const tags = [`C${r}`]
      let t0 = process.hrtime.bigint()
      const n = await oursDriver.invalidate({ tags })
      tOurs.push(Number(process.hrtime.bigint() - t0))
      if (n !== INVALIDATE_PAGES / CATEGORIES) throw new Error(`ours invalidated ${n}`)
      if (peerDriver) {
        t0 = process.hrtime.bigint()
        await peerDriver.invalidate({ tags })
        tPeer.push(Number(process.hrtime.bigint() - t0))
      }
    }
    const invNote = `one category tag (${INVALIDATE_PAGES / CATEGORIES} pages) among ${INVALIDATE_PAGES} cached ~1 KB pages, median of ${INVALIDATE_ROUNDS}`
    rows.push(redis
      ? { row: 'invalidate 1 tag / 100k pages', unit: 'ns', ours: median(tOurs), peer: median(tPeer), peerName: '@vue-storefront/redis-cache 2.0 (local redis-server)', target: null, better: 'lower', note: invNote }
      : { row: 'invalidate 1 tag / 100k pages', unit: 'ns', ours: median(tOurs), peer: null, skipped: whyNot, note: invNote })
    if (redis) rows.push(...await redisTierRows(redis))
  } finally {
    await redis?.stop()
  }
  for (const row of rows) if (row.peer) row.ratio = row.ours / row.peer
  return rows
}

// --- ferrocache/vsf with its Redis tier vs @vue-storefront/redis-cache ----
// Same redis-server, both through the real module. The driver objects are
// recorded by __test__/fixtures/vsf-observed-driver.cjs (the module loads it
// like any driver; it returns ferrocache/vsf's driver unchanged) so the bench
// can wait until a driver has read the tag versions.

const observedDriverPath = fileURLToPath(new URL('../../__test__/fixtures/vsf-observed-driver.cjs', import.meta.url))
const PEER_NAME = '@vue-storefront/redis-cache 2.0 (same redis-server)'

function tierOptions (redis, extra = {}) {
  return { maxSize: 512e6, ...extra, redis: { url: `redis://127.0.0.1:${redis.port}`, keyPrefix: 'bench:' } }
}

async function synced (driver) {
  for (let i = 0; i < 2000 && !driver.stats().redisSynced; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  if (!driver.stats().redisSynced) throw new Error('vsf bench: driver did not sync with Redis')
}

/** An app whose driver serves `HIT_ROUTES` pages from Redis only (maxCount 0: nothing kept in L1). */
async function l2Only (redis) {
  const app = installModule({ driver: [observedDriverPath, tierOptions(redis, { maxCount: 0 })], pad: PAGE_PAD })
  const driver = globalThis.__vsfDrivers.at(-1)
  await synced(driver)
  for (let i = 0; i < HIT_ROUTES; i++) app.tags[`/p/${i}`] = [{ prefix: 'P', value: String(i) }]
  return { app, driver }
}

async function redisTierRows (redis) {
  const rows = []
  await redis.flush()
  // Pages rendered and stored by one instance ...
  const writer = installModule({ driver: [observedDriverPath, tierOptions(redis)], pad: PAGE_PAD })
  await synced(globalThis.__vsfDrivers.at(-1))
  for (let i = 0; i < HIT_ROUTES; i++) writer.tags[`/p/${i}`] = [{ prefix: 'P', value: String(i) }, { prefix: 'C', value: String(i % CATEGORIES) }]
  for (let i = 0; i < HIT_ROUTES; i++) await writer.get(`/p/${i}`)
  await new Promise((resolve) => setTimeout(resolve, 200)) // background writes land
  // ... read by another from Redis (L2), or from its L1 after a first read.
  const { app: l2, driver: l2Driver } = await l2Only(redis)
  const l1 = installModule({ driver: [observedDriverPath, tierOptions(redis)], pad: PAGE_PAD })
  await synced(globalThis.__vsfDrivers.at(-1))
  for (let i = 0; i < HIT_ROUTES; i++) l1.tags[`/p/${i}`] = [{ prefix: 'P', value: String(i) }]
  for (let i = 0; i < HIT_ROUTES; i++) await l1.get(`/p/${i}`)
  const peer = await warmed([redisDriverPath, redisDriverOptions(redis.port)], { routes: HIT_ROUTES, pad: PAGE_PAD })
  const sides = { l2: hitLoop(l2), l1: hitLoop(l1), peer: hitLoop(peer) }
  const p50 = { l2: [], l1: [], peer: [] }
  for (let r = 0; r < ROUNDS; r++) {
    for (const [side, fn] of Object.entries(sides)) {
      const s = await timeEachAsync(fn, { calls: side === 'l1' ? CALLS : CALLS / 4, warmup: 100 })
      p50[side].push(s.p50)
    }
  }
  if (l2.renders('/p/0') !== 0 || l2Driver.stats().l2Hits === 0) throw new Error('vsf bench: the L2 side rendered instead of reading Redis')
  if (l1.renders('/p/0') !== 0) throw new Error('vsf bench: the L1 side rendered')
  const note = 'module renderRoute wrapper -> driver, 50 KB page, 100 pages round robin, same redis-server'
  rows.push({ row: 'redis tier: L2 hit p50', unit: 'ns', ours: median(p50.l2), peer: median(p50.peer), peerName: PEER_NAME, target: 0.5, better: 'lower', note: `page in Redis, not in this instance's L1 (maxCount 0): one GET through the addon's Redis runtime + record check + JSON.parse; ${note}` })
  rows.push({ row: 'redis tier: L1 hit p50', unit: 'ns', ours: median(p50.l1), peer: median(p50.peer), peerName: PEER_NAME, target: 0.02, better: 'lower', note: `page in this instance's L1, checked against the tag versions, no Redis call; ${note}` })
  await settleGc()

  // --- invalidate: one tag over 100k pages ------------------------------
  await redis.flush()
  let writeErrors = 0
  const ours = loadDriver(observedDriverPath, { maxSize: Infinity, redis: { url: `redis://127.0.0.1:${redis.port}`, keyPrefix: 'bench-inv:', onError: () => { writeErrors++ } } })
  await synced(ours)
  await fill(ours, 1024, ['Call'])
  const peerDriver = loadDriver(redisDriverPath, redisDriverOptions(redis.port))
  await fill(peerDriver, 1024, ['Call'])
  const tOurs = []
  const tPeer = []
  for (let r = 0; r < INVALIDATE_ROUNDS; r++) {
    const tags = [`C${r}`]
    let t0 = process.hrtime.bigint()
    await ours.invalidate({ tags })
    tOurs.push(Number(process.hrtime.bigint() - t0))
    t0 = process.hrtime.bigint()
    await peerDriver.invalidate({ tags })
    tPeer.push(Number(process.hrtime.bigint() - t0))
  }
  if (writeErrors) console.log(`# vsf: ${writeErrors} Redis errors while filling`)
  rows.push({
    row: 'redis tier: invalidate 1 tag (100 pages) / 100k', unit: 'ns', ours: median(tOurs), peer: median(tPeer), peerName: PEER_NAME, target: null, better: 'lower',
    note: `one category tag (100 pages) among ${INVALIDATE_PAGES} cached ~1 KB pages, median of ${INVALIDATE_ROUNDS}; ours: one script raising the tag's version (+ broadcast), O(tags)`
  })
  const allOurs = []
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint()
    const n = await ours.invalidate({ tags: ['Call'] })
    allOurs.push(Number(process.hrtime.bigint() - t0))
    if (r === 0 && n !== INVALIDATE_PAGES) throw new Error(`ours: ${n} pages carried Call`)
  }
  let t0 = process.hrtime.bigint()
  await peerDriver.invalidate({ tags: ['Call'] })
  const allPeer = Number(process.hrtime.bigint() - t0)
  rows.push({
    row: 'redis tier: invalidate 1 tag carried by 100k pages', unit: 'ns', ours: median(allOurs), peer: allPeer, peerName: PEER_NAME, target: 0.01, better: 'lower',
    note: `a tag on all ${INVALIDATE_PAGES} pages (~1 KB); ours median of 5 (the same O(1) script each time), the peer once (it deletes the pages: SMEMBERS + DEL of ${INVALIDATE_PAGES} keys)`
  })
  await ours.close()
  await settleGc()

  // --- herd: 3 instances x 50 concurrent requests for a cold page ---------
  await redis.flush()
  const herd = async (driver) => {
    const apps = []
    for (let i = 0; i < 3; i++) {
      const app = installModule({ driver: driver(), renderDelay: 20 })
      app.tags['/p/herd'] = [{ prefix: 'P', value: 'herd' }]
      apps.push(app)
    }
    for (const d of globalThis.__vsfDrivers ?? []) if (d.stats().redisSynced === false) await synced(d)
    await Promise.all(apps.flatMap((app) => Array.from({ length: 50 }, () => app.get('/p/herd'))))
    return apps.reduce((n, app) => n + app.renders('/p/herd'), 0)
  }
  globalThis.__vsfDrivers = []
  const herdOurs = await herd(() => [observedDriverPath, tierOptions(redis, { maxSize: 64e6 })])
  const herdPeer = await herd(() => [redisDriverPath, redisDriverOptions(redis.port)])
  rows.push({
    row: 'redis tier: herd renders (3 instances x 50)', unit: 'renders', ours: herdOurs, peer: herdPeer, peerName: PEER_NAME, target: null, better: 'lower',
    note: '150 concurrent requests for one cold page (20 ms render), 3 driver instances on one redis-server; ours: per-instance coalescing + a Redis lock per page'
  })
  for (const d of globalThis.__vsfDrivers) await d.close()
  return rows
}

// The Map driver is loaded by the module like any other: from a file whose
// `default` export is the factory.
function mapDriverFactoryPath () {
  globalThis.__vsfBenchMapDriver = mapDriverFactory
  return [new URL('./vsf-map-driver.cjs', import.meta.url).pathname, {}]
}

/** Caches INVALIDATE_PAGES pages through `driver.invoke`, tagged P<i>, C<i % CATEGORIES> and `extraTags`. */
async function fill (driver, pad, extraTags = []) {
  const html = 'x'.repeat(pad)
  for (let i = 0; i < INVALIDATE_PAGES; i += 1000) {
    const batch = []
    for (let j = i; j < i + 1000; j++) {
      batch.push(driver.invoke({
        route: `/p/${j}`,
        render: async () => ({ html, error: null, redirected: false }),
        getTags: () => [`P${j}`, `C${j % CATEGORIES}`, ...extraTags]
      }))
    }
    await Promise.all(batch)
    // Let background page writes (ours with Redis) drain between batches.
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  // Ordering: the Redis driver's unawaited SETs precede this GET on its connection.
  let rendered = false
  await driver.invoke({ route: '/p/0', render: async () => { rendered = true; return {} }, getTags: () => ['x'] })
  if (rendered) throw new Error('fill: /p/0 was not cached')
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await run()
  for (const r of rows) {
    const f = (v) => v == null ? '-' : v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : v >= 1e3 ? `${(v / 1e3).toFixed(2)} µs` : `${v.toFixed(0)} ns`
    console.log(`${r.row.padEnd(32)} ours ${f(r.ours).padStart(10)}  peer ${f(r.peer).padStart(10)}  ratio ${r.ratio?.toFixed(4) ?? '-'}  ${r.peerName ?? r.skipped ?? ''}`)
  }
}
