// A caching reverse proxy as users build it: node:http front, undici Agent +
// interceptors.cache({ store }) to the origin. Run as a child process by
// bench/suites/e2e.mjs so its RSS and CPU are its own.
//   argv: <ours|undici> <maxCount> <threads> <origin url>
// Replies on IPC: { ports } when listening; { rss, cpu, storeNs } on 'report'.
import { once } from 'node:events'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { listenProxy } from './front.mjs'

const require = createRequire(import.meta.url)

async function serve ({ kind, maxCount, upstream }) {
  const { Agent, interceptors, cacheStores } = require('undici')
  const opts = { maxCount, maxSize: 4e9, maxEntrySize: 1e7 }
  const store = kind === 'ours'
    ? new (require('../../index.js').MemoryCacheStore)({ ...opts, name: 'e2e' })
    : new cacheStores.MemoryCacheStore(opts)
  // Time spent inside the store, to show its share of each request.
  let storeNs = 0n
  const timed = {
    get (key) {
      const t = process.hrtime.bigint()
      try { return store.get(key) } finally { storeNs += process.hrtime.bigint() - t }
    },
    createWriteStream (key, value) {
      const t = process.hrtime.bigint()
      try { return store.createWriteStream(key, value) } finally { storeNs += process.hrtime.bigint() - t }
    },
    delete (key) { return store.delete(key) }
  }
  const agent = new Agent({ connections: 64 }).compose(interceptors.cache({ store: timed }))
  const server = await listenProxy(upstream, agent, { keepAliveTimeout: 30_000 })
  return { port: server.address().port, storeNs: () => Number(storeNs) }
}

if (isMainThread) {
  const [kind, maxCount, threads, upstream] = process.argv.slice(2)
  const n = Number(threads)
  const cfg = { kind, maxCount: Number(maxCount), upstream }
  const reporters = []
  const ports = []
  if (n <= 1) {
    const s = await serve(cfg)
    ports.push(s.port)
    reporters.push(async () => s.storeNs())
  } else {
    for (let i = 0; i < n; i++) {
      const w = new Worker(fileURLToPath(import.meta.url), { workerData: cfg })
      const [port] = await once(w, 'message')
      ports.push(port)
      reporters.push(async () => {
        w.postMessage('report')
        const [ns] = await once(w, 'message')
        return ns
      })
    }
  }
  const cpu0 = process.cpuUsage()
  process.send({ ports })
  process.on('message', async (m) => {
    if (m === 'report') {
      globalThis.gc?.()
      const cpu = process.cpuUsage(cpu0)
      const storeNs = (await Promise.all(reporters.map((r) => r()))).reduce((a, b) => a + b, 0)
      process.send({ rss: process.memoryUsage().rss, cpuNs: (cpu.user + cpu.system) * 1000, storeNs })
    } else if (m === 'exit') {
      process.exit(0)
    }
  })
} else {
  const s = await serve(workerData)
  parentPort.postMessage(s.port)
  parentPort.on('message', () => parentPort.postMessage(s.storeNs()))
}
