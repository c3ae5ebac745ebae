// A caching reverse proxy (node:http front, undici Agent to the origin) whose
// cache interceptor is ferrocache's or undici's, over the same store
// (ferrocache's MemoryCacheStore), so the rows compare interceptors only.
// Run as a child process by bench/suites/interceptor.mjs.
//   argv: <ours|undici> <origin url> [maxCount, default 100000]
// Replies on IPC: { ports } when listening; { rss } on 'report'.
import { createRequire } from 'node:module'
import { listenProxy } from './front.mjs'

const require = createRequire(import.meta.url)
const undici = require('undici')
const ferrocache = require('../../index.js')

const [kind, upstream, maxCount = '100000'] = process.argv.slice(2)
const store = new ferrocache.MemoryCacheStore({ maxCount: Number(maxCount), maxSize: 4e9, maxEntrySize: 1e7 })
const cache = kind === 'ours' ? ferrocache.interceptors.cache : undici.interceptors.cache
const agent = new undici.Agent({ connections: 64 }).compose(cache({ store }))

const server = await listenProxy(upstream, agent, { keepAliveTimeout: 30_000 })
process.send({ ports: [server.address().port] })
process.on('message', (m) => {
  if (m === 'report') process.send({ rss: process.memoryUsage().rss })
  else if (m === 'exit') process.exit(0)
})
