// One storefront instance for the multi-instance tests (a child process):
// the real @vue-storefront/cache module with ferrocache/vsf on Redis, behind
// a node:http server, driven by its parent over IPC.
//
// Config (JSON in VSF_INSTANCE): { url, pad, renderDelay, commandTimeout, lockTimeout }.
// `pad` makes each instance's pages differ ('x' × pad in the HTML), so a
// served page tells which instance rendered it, and how many times.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { installModule, serve } from './vsf-fixture.mjs'

const config = JSON.parse(process.env.VSF_INSTANCE)
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const tick = () => new Promise((resolve) => setImmediate(resolve))

let renderDelay = config.renderDelay ?? 0
const redisErrors = []
let unhandled = 0
process.on('unhandledRejection', (err) => {
  unhandled++
  console.error('unhandled rejection in instance', err)
})

const driverPath = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'vsf-observed-driver.cjs')
const app = installModule({
  driver: [driverPath, {
    ttl: 600,
    redis: {
      url: config.url,
      keyPrefix: 'test:',
      commandTimeout: config.commandTimeout ?? 50,
      lockTimeout: config.lockTimeout ?? 2000,
      onError: (err) => { if (redisErrors.length < 1000) redisErrors.push(err.message) }
    }
  }],
  pad: config.pad ?? 0,
  renderDelay: () => renderDelay
})
const driver = globalThis.__vsfDrivers.at(-1)
const http = await serve(app)

/**
 * Requests `route` until its page differs from `old`; resolves to when the
 * first such request started (`t`) and when the last request served `old`
 * started (`lastOld`).
 */
async function watch ({ route, old, timeout }) {
  const end = now() + timeout
  let lastOld = null
  while (now() < end) {
    const t = now()
    const page = await app.get(route)
    if (page.html !== old) return { t, lastOld, html: page.html }
    lastOld = t
    await tick()
  }
  return { t: null, lastOld }
}

/**
 * Two loops for `duration` ms: one requesting `hitRoute` (an L1 hit while
 * nothing invalidates it), one requesting a new route each time (a miss:
 * Redis, then a render). Each request's start time and latency are recorded.
 */
async function load ({ duration, hitRoute, missPrefix, tags }) {
  const end = now() + duration
  const out = { hits: [], misses: [], failures: 0 }
  const loop = async (kind, route) => {
    let i = 0
    while (now() < end) {
      const r = route(i++)
      if (tags && kind === 'misses') app.tags[r] = tags
      const t = now()
      try {
        const page = await app.get(r)
        if (!page.html.includes(r + ' v')) out.failures++
      } catch {
        out.failures++
      }
      out[kind].push([t, now() - t])
      if (kind === 'hits') await sleep(1)
    }
  }
  await Promise.all([
    loop('hits', () => hitRoute),
    loop('misses', (i) => `${missPrefix}/${i}`)
  ])
  return out
}

const commands = {
  async ready ({ timeout = 10000 }) {
    const end = now() + timeout
    while (!driver.stats().redisSynced) {
      if (now() > end) throw new Error('instance did not sync with Redis')
      await sleep(5)
    }
    return true
  },
  tags ({ route, tags }) { app.tags[route] = tags; return true },
  delay ({ ms }) { renderDelay = ms; return true },
  async get ({ route, n = 1 }) {
    const started = now()
    const pages = await Promise.all(Array.from({ length: n }, () => app.get(route)))
    return { htmls: [...new Set(pages.map((p) => p.html))], ms: now() - started }
  },
  renders ({ route }) { return app.renders(route) },
  async invalidate ({ tags }) {
    const sent = now()
    const res = await http.fetch(`/cache-invalidate?key=secret&tags=${encodeURIComponent(tags)}`)
    return { status: res.status, sent, resolved: now() }
  },
  watch,
  load,
  stats () { return { ...driver.stats(), unhandled, redisErrors: redisErrors.length, errorSample: redisErrors.slice(0, 3) } },
  async exit () {
    await http.close()
    setImmediate(() => process.exit(0))
    return true
  }
}

process.on('message', async ({ id, cmd, args }) => {
  try {
    process.send({ id, ok: true, result: await commands[cmd](args ?? {}) })
  } catch (err) {
    process.send({ id, ok: false, error: String(err?.stack ?? err) })
  }
})
process.send({ id: 0, ok: true, result: 'started' })
