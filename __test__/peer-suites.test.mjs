// Pins behaviour the peers' own test suites rely on (http-cache-semantics'
// test/*.js, undici's test/cache-interceptor/*.js). Each test names the peer
// test it mirrors; where the peer is installed the same assertion runs on it.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { CachePolicy } = require('../index.js')
const PeerPolicy = require('http-cache-semantics')

describe('CachePolicy#_responseTime (http-cache-semantics test/satisfytest.js)', () => {
  // satisfytest.js 'allows private-cache stale reuse with private' pins the
  // clock with `policy.now = () => policy._responseTime`.
  for (const [name, Policy] of [['ferrocache', CachePolicy], ['http-cache-semantics', PeerPolicy]]) {
    test(`${name}: is the construction time and survives toObject/fromObject`, () => {
      let t = 1_700_000_000_000
      class Clocked extends Policy { now () { return t } }
      const policy = new Clocked({ headers: {} }, {
        headers: { age: '10', 'cache-control': 'max-age=1, private, stale-while-revalidate=100, stale-if-error=100' }
      }, { shared: false })
      t += 5000
      assert.equal(policy._responseTime, 1_700_000_000_000)
      assert.equal(Clocked.fromObject(policy.toObject())._responseTime, 1_700_000_000_000)

      policy.now = () => policy._responseTime
      assert.equal(policy.age(), 10)
      assert.ok(policy.stale())
      assert.ok(policy.satisfiesWithoutRevalidation({ headers: { 'cache-control': 'max-stale' } }))
      assert.ok(policy.useStaleWhileRevalidate())
      assert.equal(policy.revalidatedPolicy({ headers: {} }, { status: 503, headers: {} }).policy, policy)
    })
  }

  test('is read-only and not serialised as an own property', () => {
    const policy = new CachePolicy({ headers: {} }, { headers: { 'cache-control': 'max-age=60' } })
    assert.throws(() => { 'use strict'; policy._responseTime = 1 }, TypeError)
    assert.equal(Object.keys(policy).includes('_responseTime'), false)
  })
})
