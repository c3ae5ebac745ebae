// The front of every caching reverse proxy the benches run: a node:http server
// on 127.0.0.1 that forwards each request through `dispatcher` (an undici Agent
// composed with a cache interceptor) to `upstream`, copying status,
// content-type and body; 502 on an error.
import http from 'node:http'
import { once } from 'node:events'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { request } = require('undici')

/** Listens on a free port; resolves to the listening server. */
export async function listenProxy (upstream, dispatcher, { keepAliveTimeout } = {}) {
  const server = http.createServer(async (req, res) => {
    try {
      const up = await request(upstream + req.url, { dispatcher })
      res.writeHead(up.statusCode, { 'content-type': up.headers['content-type'] ?? 'application/octet-stream' })
      for await (const chunk of up.body) res.write(chunk)
      res.end()
    } catch (err) {
      res.writeHead(502).end(String(err))
    }
  })
  if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}
