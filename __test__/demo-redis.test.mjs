// `npm run demo:redis` (examples/demo-redis.js) works as the README says: it
// starts its own redis-server, three instances share one cache, a POST on one
// invalidates the response for the others.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { redisSkipReason } from './helpers/redis-server.mjs'

const skip = redisSkipReason() ?? false
const script = fileURLToPath(new URL('../examples/demo-redis.js', import.meta.url))

test('examples/demo-redis.js: hits on other instances, invalidated everywhere by a POST', { skip }, () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 })
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.split('\n')
  const line = (prefix) => lines.filter((l) => l.startsWith(prefix))
  assert.match(line('instance A:')[0], /MISS GET .*v1$/)
  assert.match(line('instance B:')[0], /HIT  GET .*v1$/)
  assert.match(line('instance C:')[0], /HIT  GET .*v1$/)
  assert.match(line('instance A:')[2], /MISS GET .*v2$/)
  // Never the old price after the POST (a hit, unless A's write was slower
  // than the demo's 250 ms pause).
  assert.match(line('instance B:')[1], /(HIT |MISS) GET .*v2$/)
})
