// Origin server and load generator (autocannon) in one child process, apart
// from the proxy under test. Commands arrive on IPC:
//   { run: { ports, paths, zipf, seconds, connections } } -> { reqPerSec, p99, errors, originHits }
import http from 'node:http'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { zipf } from '../workload.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')

const BODY = Buffer.alloc(4096, 'x')
let originHits = 0
// Optional render time of the origin (ms), set per run (`originDelay`).
let originDelay = 0
const origin = http.createServer((req, res) => {
  originHits++
  const reply = () => {
    res.writeHead(200, {
      'content-type': 'text/html',
      'cache-control': 'public, max-age=300',
      'content-length': BODY.length
    })
    res.end(BODY)
  }
  if (originDelay > 0) setTimeout(reply, originDelay)
  else reply()
})
origin.keepAliveTimeout = 30_000
origin.listen(0, '127.0.0.1')
await once(origin, 'listening')
process.send({ origin: `http://127.0.0.1:${origin.address().port}` })

function run ({ port, paths, skew, seconds, connections, seed, herd }) {
  const draw = skew ? zipf(paths, skew, seed) : null
  let i = seed
  // herd: every connection walks the same paths in step (`connections`
  // concurrent requests per path), as clients of a cold catalog do.
  const next = herd
    ? () => `/p/${Math.floor(i++ / connections) % paths}`
    : () => `/p/${draw ? draw() : (i++ % paths)}`
  return new Promise((resolve, reject) => {
    autocannon({
      url: `http://127.0.0.1:${port}`,
      connections,
      duration: seconds,
      requests: [{ setupRequest: (req) => ({ ...req, path: next() }) }]
    }, (err, result) => err ? reject(err) : resolve(result))
  })
}

process.on('message', async (m) => {
  if (m === 'exit') process.exit(0)
  const { ports, connections, originDelay: delay = 0, ...rest } = m.run
  originDelay = delay
  const before = originHits
  const per = Math.max(1, Math.floor(connections / ports.length))
  const results = await Promise.all(ports.map((port, k) => run({ port, connections: per, seed: 17 + k, ...rest })))
  const reqPerSec = results.reduce((n, r) => n + r.requests.average, 0)
  const p99 = Math.max(...results.map((r) => r.latency.p99))
  const errors = results.reduce((n, r) => n + r.errors + r.non2xx, 0)
  process.send({ reqPerSec, p99, errors, originHits: originHits - before })
})
