'use strict'
// `npm run demo`: a local origin server, fetched through undici with
// ferrocache's native MemoryCacheStore. Prints what the cache did.
const http = require('node:http')
const { once } = require('node:events')
const { Agent, interceptors, request } = require('undici')
const { MemoryCacheStore } = require('..')

async function main () {
  let originHits = 0
  let notModified = 0
  const origin = http.createServer((req, res) => {
    originHits++
    const etag = '"v1"'
    if (req.headers['if-none-match'] === etag) {
      notModified++
      res.writeHead(304, { etag, 'cache-control': 'max-age=1' })
      return res.end()
    }
    const body = `product ${req.url} rendered at ${new Date().toISOString()}\n`
    res.writeHead(200, {
      'content-type': 'text/plain',
      'cache-control': req.url.startsWith('/short') ? 'max-age=1' : 'public, max-age=300',
      etag,
      vary: 'accept-encoding'
    })
    res.end(body)
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  const base = `http://127.0.0.1:${origin.address().port}`

  const store = new MemoryCacheStore({ maxSize: 200e6, maxCount: 3 })
  store.on('maxSizeExceeded', (e) => console.log(`  store: limit reached (count ${e.count} > maxCount ${e.maxCount}): evicting least recently used`))
  const agent = new Agent().compose(interceptors.cache({ store }))

  async function fetchOnce (path, headers = {}) {
    const before = originHits
    const before304 = notModified
    const res = await request(base + path, { dispatcher: agent, headers })
    const text = await res.body.text()
    const what = originHits === before ? 'HIT        ' : notModified > before304 ? 'REVALIDATED' : 'MISS       '
    console.log(`${what} ${path.padEnd(14)} ${headers['accept-encoding'] ?? ''}\t-> ${res.statusCode} ${text.trim()}`)
  }

  console.log(`origin on ${base}; store: maxCount 3\n`)
  await fetchOnce('/products/1')
  await fetchOnce('/products/1')
  await fetchOnce('/products/1', { 'accept-encoding': 'br' })
  await fetchOnce('/products/1', { 'accept-encoding': 'br' })
  await fetchOnce('/products/2')
  await fetchOnce('/products/3')
  await fetchOnce('/products/1')
  await fetchOnce('/products/4')
  console.log('\nrevalidation (max-age=1, ETag):')
  await fetchOnce('/short/5')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await fetchOnce('/short/5')
  console.log(`  the origin answered ${notModified} conditional request(s) with 304; the cached body was served`)

  console.log('\nstats():', store.stats())
  console.log(`origin requests: ${originHits}`)
  await agent.close()
  origin.close()
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
