// Hostile headers through the cache interceptor: malformed Cache-Control,
// Vary, Date, Age and Expires from the origin (sent as raw bytes, so nothing
// on the way normalises them) and from the client. Nothing may crash, every
// request gets an answer, and the cache is never poisoned: a later
// well-formed request for the same URL gets what the origin says for it.

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { Agent, request } = require('undici')
const { MemoryCacheStore, interceptors } = require('../index.js')

// Response header lines the origin sends for path /h/<i> (request 1 only;
// later requests get a plain no-store answer naming the request number).
const HOSTILE_HEADERS = [
  ['cache-control: max-age=60, max-age=abc, ,,,, =, "unterminated'],
  ['cache-control: max-age="60'],
  ['cache-control: max-age=99999999999999999999999999999999'],
  ['cache-control: max-age=-5, s-maxage=-1'],
  ['cache-control: no-cache="unterminated, private="x'],
  ['cache-control: ' + 'a,'.repeat(5000) + 'max-age=60'],
  ['cache-control: max-age=60', 'vary: ,,, ,'],
  ['cache-control: max-age=60', 'vary: accept, *'],
  ['cache-control: max-age=60', 'vary: bad header name'],
  ['cache-control: max-age=60', 'date: not a date'],
  ['cache-control: max-age=60', 'date: Sun, 99 Zzz 99999 99:99:99 GMT'],
  ['cache-control: max-age=60', 'age: -1'],
  ['cache-control: max-age=60', 'age: 1e400'],
  ['cache-control: max-age=60', 'age: 99999999999999999999'],
  ['expires: 0'],
  ['expires: Thu, 01 Jan 1970 00:00:00 GMT', 'last-modified: garbage'],
  ['cache-control: max-age=60', 'etag: "unterminated'],
  ['cache-control: max-age=60', 'cache-control: s-maxage=\xff\xfe'],
  ['cache-control: \xc3\x28 max-age=60']
]

let server
let port
const counts = new Map()

before(async () => {
  server = net.createServer((socket) => {
    let buf = ''
    socket.on('data', (d) => {
      buf += d.toString('latin1')
      let end
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, end)
        buf = buf.slice(end + 4)
        const path = head.split(' ')[1]
        const n = (counts.get(path) ?? 0) + 1
        counts.set(path, n)
        const i = parseInt(path.split('/')[2], 10)
        const body = `${path} #${n}`
        const lines = n === 1 ? HOSTILE_HEADERS[i] : ['cache-control: no-store']
        socket.write(Buffer.from(
          'HTTP/1.1 200 OK\r\n' + lines.join('\r\n') + `\r\ncontent-length: ${body.length}\r\n\r\n` + body,
          'latin1'))
      }
    })
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = server.address().port
})

after(() => server.close())

for (const type of ['shared', 'private']) {
  test(`malformed origin headers never crash or poison the cache (${type})`, async () => {
    const agent = new Agent().compose(interceptors.cache({ store: new MemoryCacheStore(), type }))
    const origin = `http://127.0.0.1:${port}`
    for (let i = 0; i < HOSTILE_HEADERS.length; i++) {
      const p = `/h/${i}?${type}`
      const first = await request(origin + p, { dispatcher: agent, headers: { accept: 'a' } })
      assert.equal(first.statusCode, 200, `case ${i}`)
      const firstBody = await first.body.text()
      assert.ok(firstBody.endsWith('#1'), `case ${i}: ${firstBody}`)
      // A request whose Vary'd field differs must never get a stored variant
      // it does not match; any answer it gets is the origin's or the one stored for it.
      const second = await request(origin + p, { dispatcher: agent, headers: { accept: 'b' } })
      const body2 = await second.body.text()
      assert.equal(second.statusCode, 200)
      const vary = HOSTILE_HEADERS[i].find((l) => l.startsWith('vary:'))
      // (an empty Vary list nominates no field: RFC 9110 §5.6.1 ignores empty elements)
      if (vary && vary !== 'vary: ,,, ,') {
        assert.ok(body2.endsWith('#2'), `case ${i}: a response with ${JSON.stringify(vary)} served to another request: ${body2}`)
      }
    }
    await agent.close()
  })
}

test('malformed client headers never crash the interceptor', async () => {
  const agent = new Agent().compose(interceptors.cache({ store: new MemoryCacheStore() }))
  const origin = `http://127.0.0.1:${port}`
  const hostileRequests = [
    { 'cache-control': 'max-age=abc, min-fresh="x, max-stale=-1, only-if-cached=1' },
    { 'cache-control': ['no-cache', 'max-age=5'] },
    { 'cache-control': 'max-stale=99999999999999999999999999' },
    { pragma: ['no-cache', 'x'] },
    { 'if-none-match': '"unterminated' },
    { 'if-modified-since': 'garbage' },
    { accept: ['a', 'b'], 'cache-control': 'x'.repeat(100_000) }
  ]
  let i = 0
  for (const headers of hostileRequests) {
    const res = await request(`${origin}/h/0?client${i++}`, { dispatcher: agent, headers })
    assert.ok([200, 304, 504].includes(res.statusCode), `got ${res.statusCode}`)
    await res.body.text()
  }
  await agent.close()
})

test('malformed Range and If-Range from the client never crash, and never change what is stored', async () => {
  const agent = new Agent().compose(interceptors.cache({ store: new MemoryCacheStore() }))
  const origin = `http://127.0.0.1:${port}`
  const p = '/h/0?range'
  // stored: case 0 (max-age=60), body '/h/0?range #1' (13 bytes)
  const stored = await request(origin + p, { dispatcher: agent })
  const full = await stored.body.text()
  assert.equal(full, `${p} #1`)
  const hostile = [
    { range: 'bytes=' + '9'.repeat(1000) + '-' },
    { range: 'bytes=-' + '9'.repeat(1000) },
    { range: 'bytes=0-' + '9'.repeat(1000) },
    { range: 'bytes=1-2-3' },
    { range: 'bytes= 1 - 2 ' },
    { range: ['bytes=0-1', 'bytes=2-3'] },
    { range: 'bytes=-0' },
    { range: 'bytes=0-0,' + '1-1,'.repeat(10_000) },
    { range: '\u00e9=0-1' },
    { range: 'bytes=0-1', 'if-range': '' },
    { range: 'bytes=0-1', 'if-range': 'W/' },
    { range: 'bytes=0-1', 'if-range': 'Sun, 06 Nov 1994 08:49:37' },
    { range: 'bytes=0-1', 'if-range': 'x'.repeat(100_000) }
  ]
  for (const headers of hostile) {
    const res = await request(origin + p, { dispatcher: agent, headers })
    const body = await res.body.text()
    assert.ok([200, 206, 416].includes(res.statusCode), `${JSON.stringify(headers).slice(0, 80)}: ${res.statusCode}`)
    if (res.statusCode === 200) assert.equal(body, full)
    if (res.statusCode === 206) {
      const [, first, last, length] = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'])
      assert.equal(Number(length), full.length)
      assert.equal(body, full.slice(Number(first), Number(last) + 1))
    }
  }
  // every one was answered from the store, which still holds the whole response
  assert.equal(counts.get(p), 1)
  const again = await request(origin + p, { dispatcher: agent })
  assert.equal(again.statusCode, 200)
  assert.equal(await again.body.text(), full)
  await agent.close()
})
