// URL forms of RedisCacheStore against a real redis-server: `user:password@`
// (an ACL user) is honoured and a wrong password is reported, not thrown; and
// `rediss://` talks TLS to a redis-server with a certificate from a private CA
// (trusted through SSL_CERT_FILE, as rustls-native-certs reads it), in a
// child process so the variable is set before the first TLS connection.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { startRedis, redisSkipReason, freePort } from './helpers/redis-server.mjs'
import { cacheKey, put, bodyOf } from './helpers/store-contract.mjs'

const require = createRequire(import.meta.url)
const { RedisCacheStore } = require('../index.js')

const skip = redisSkipReason() ?? false
const dir = mkdtempSync(join(tmpdir(), 'ferrocache-tls-'))
let redis, tlsPort, tlsSkip = false
after(async () => {
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

function openssl (...args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`)
}

before(async () => {
  if (skip) return
  const args = ['--user', 'alice', 'on', '>s3cret', '~*', '&*', '+@all']
  try {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=ferrocache test CA', '-keyout', 'ca.key', '-out', 'ca.pem')
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n')
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr')
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem')
    tlsPort = await freePort()
    args.push('--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'server.pem'), '--tls-key-file', join(dir, 'server.key'),
      '--tls-ca-cert-file', join(dir, 'ca.pem'), '--tls-auth-clients', 'no')
  } catch (err) {
    tlsSkip = `no TLS setup: ${err.message}`
  }
  try {
    redis = await startRedis({ args })
  } catch (err) {
    if (tlsSkip) throw err
    // A redis-server built without TLS: run the ACL test alone.
    tlsSkip = `redis-server without TLS support (${err.message})`
    redis = await startRedis({ args: args.slice(0, 7) })
  }
})

test('user:password@ in the URL authenticates as that ACL user; a wrong password is reported', { skip }, async () => {
  const url = `redis://alice:s3cret@127.0.0.1:${redis.port}`
  const store = new RedisCacheStore({ url, keyPrefix: 'acl:' })
  await put(store, cacheKey('/acl'), 'as alice')
  assert.equal(bodyOf(await store.get(cacheKey('/acl'))).toString(), 'as alice')
  await store.close()
  const errors = []
  const wrong = new RedisCacheStore({ url: `redis://alice:nope@127.0.0.1:${redis.port}`, keyPrefix: 'acl:', commandTimeout: 300, errorCallback: (e) => errors.push(e) })
  assert.equal(await wrong.get(cacheKey('/acl')), undefined, 'a miss, not a throw')
  assert.ok(errors.length >= 1)
  assert.ok(errors.every((e) => !e.message.includes('nope')), 'the password is not echoed')
  await wrong.close()
})

test('rediss:// connects with TLS and verifies the server certificate', { skip: skip || tlsSkip }, () => {
  const script = `
    const { RedisCacheStore } = require(${JSON.stringify(require.resolve('../index.js'))})
    const errors = []
    const s = new RedisCacheStore({ url: process.env.URL, keyPrefix: 'tls:', commandTimeout: 2000, errorCallback: (e) => errors.push(e.message) })
    const key = { origin: 'http://t', path: '/t', method: 'GET', headers: {} }
    const w = s.createWriteStream(key, { statusCode: 200, statusMessage: 'OK', headers: {}, cachedAt: Date.now(), staleAt: Date.now() + 9e4, deleteAt: Date.now() + 9e4 })
    w.end('over tls')
    w.on('finish', async () => {
      const r = await s.get(key)
      console.log(JSON.stringify({ body: r ? Buffer.concat(r.body).toString() : null, errors }))
      await s.close()
    })`
  const run = (env) => {
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } })
    assert.equal(r.status, 0, r.stderr)
    return JSON.parse(r.stdout.trim().split('\n').pop())
  }
  const trusted = run({ URL: `rediss://127.0.0.1:${tlsPort}`, SSL_CERT_FILE: join(dir, 'ca.pem') })
  assert.deepEqual(trusted, { body: 'over tls', errors: [] })
  // The same server without trusting its CA: the handshake fails, reported.
  const untrusted = run({ URL: `rediss://127.0.0.1:${tlsPort}`, SSL_CERT_FILE: join(dir, 'server.key') })
  assert.equal(untrusted.body, null)
  assert.ok(untrusted.errors.length >= 1)
})
