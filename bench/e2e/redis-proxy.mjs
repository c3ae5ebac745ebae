// One instance of a caching reverse proxy for the redis-store bench's
// 2-process row: node:http front, undici Agent + interceptors.cache({ store })
// to the origin, the store a RedisCacheStore (shared by every instance through
// one redis-server) or a MemoryCacheStore (one per instance).
//   argv: <redis|memory> <redis url or -> <key prefix> <origin url>
// Replies on IPC: { port } when listening; exits on 'close'.
import { createRequire } from 'node:module'
import { listenProxy } from './front.mjs'

const require = createRequire(import.meta.url)
const { Agent, interceptors } = require('undici')
const { RedisCacheStore, MemoryCacheStore } = require('../../index.js')

const [kind, redisUrl, keyPrefix, upstream] = process.argv.slice(2)
const store = kind === 'redis'
  ? new RedisCacheStore({ url: redisUrl, keyPrefix, errorCallback: () => {} })
  : new MemoryCacheStore({ maxCount: 200_000, maxSize: 4e9 })
const agent = new Agent({ connections: 32 }).compose(interceptors.cache({ store }))
const server = await listenProxy(upstream, agent)
process.send({ port: server.address().port })
process.on('message', async (m) => {
  if (m !== 'close') return
  server.close()
  await agent.close()
  await store.close?.()
  process.exit(0)
})
