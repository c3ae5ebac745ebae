// Page cache: ferrocache/vsf vs @vue-storefront/redis-cache 2.0 (on a private
// local redis-server) and vs a plain JS Map driver, all driven through the real
// @vue-storefront/cache 2.8 module's wrapped renderRoute.
//
//   node --expose-gc bench/suites/vsf.mjs     (standalone; needs a release build)

import { pathToFileURL } from 'node:url'
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
  } finally {
    await redis?.stop()
  }
  for (const row of rows) if (row.peer) row.ratio = row.ours / row.peer
  return rows
}

// The Map driver is loaded by the module like any other: from a file whose
// `default` export is the factory.
function mapDriverFactoryPath () {
  globalThis.__vsfBenchMapDriver = mapDriverFactory
  return [new URL('./vsf-map-driver.cjs', import.meta.url).pathname, {}]
}

/** Caches INVALIDATE_PAGES pages through `driver.invoke`, tagged P<i> and C<i % CATEGORIES>. */
async function fill (driver, pad) {
  const html = 'x'.repeat(pad)
  for (let i = 0; i < INVALIDATE_PAGES; i += 1000) {
    const batch = []
    for (let j = i; j < i + 1000; j++) {
      batch.push(driver.invoke({
        route: `/p/${j}`,
        render: async () => ({ html, error: null, redirected: false }),
        getTags: () => [`P${j}`, `C${j % CATEGORIES}`]
      }))
    }
    await Promise.all(batch)
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
