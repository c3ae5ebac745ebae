// Metadata crosses into Rust as text and comes back through JSON.parse: any
// string a caller stores (non-ASCII, astral, long, lone surrogates in keys)
// must come back exactly. (undici's store keeps the JS objects, so this is the
// behaviour users of its store rely on.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { MemoryCacheStore } = require('../index.js')

const samples = ['', 'plain ascii', 'é', 'Ünïcødé', '𝄞 astral', '中文字符', 'mixed é𝄞 ascii', 'x'.repeat(5000), 'é'.repeat(3000), '\u00ff\u0100']

test('status messages, headers, etags and directives round-trip exactly', () => {
  const store = new MemoryCacheStore()
  const now = Date.now()
  samples.forEach((text, i) => {
    const key = { origin: 'http://text', method: 'GET', path: `/${i}`, headers: { 'accept-language': text } }
    const value = {
      statusCode: 200,
      statusMessage: text,
      headers: { 'x-text': text, 'x-list': [text, 'b'] },
      vary: { 'accept-language': text },
      etag: `"${text}"`,
      cacheControlDirectives: { private: [text] },
      cachedAt: now,
      staleAt: now + 1000,
      deleteAt: now + 2000
    }
    store.createWriteStream(key, value).end(text)
    const hit = store.get(key)
    assert.ok(hit, `entry ${i} is stored`)
    for (const field of Object.keys(value)) assert.deepEqual(hit[field], value[field], `${field} of sample ${i}`)
    assert.equal(Buffer.concat(hit.body).toString(), text)
  })
})

test('paths that differ only in lone surrogates are different keys', () => {
  const store = new MemoryCacheStore()
  const now = Date.now()
  const v = (n) => ({ statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: now + 1000, deleteAt: now + 2000, etag: `"${n}"` })
  const a = { origin: 'http://text', method: 'GET', path: '/\uD800', headers: {} }
  const b = { origin: 'http://text', method: 'GET', path: '/\uDFFF', headers: {} }
  const c = { origin: 'http://text', method: 'GET', path: '/\uFFFD', headers: {} }
  store.createWriteStream(a, v('a')).end('a')
  store.createWriteStream(b, v('b')).end('b')
  assert.equal(store.get(a).etag, '"a"')
  assert.equal(store.get(b).etag, '"b"')
  assert.equal(store.get(c), undefined)
  assert.equal(store.count, 2)
})

test('infinite and fractional times round-trip', () => {
  const store = new MemoryCacheStore()
  const now = Date.now() + 0.25
  const key = { origin: 'http://text', method: 'GET', path: '/t', headers: {} }
  store.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: now, staleAt: Infinity, deleteAt: Infinity }).end()
  const hit = store.get(key)
  assert.equal(hit.cachedAt, now)
  assert.equal(hit.staleAt, Infinity)
  assert.equal(hit.deleteAt, Infinity)
  assert.deepEqual(hit.body, [])
})
