// index.d.ts is hand-written: prove with the real TypeScript compiler that
// code typed against undici's CacheStore accepts our MemoryCacheStore (and,
// as other faces add their files to __test__/types/, their peers' types).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const tsc = require.resolve('typescript/bin/tsc')
const project = fileURLToPath(new URL('./types/tsconfig.json', import.meta.url))

test('index.d.ts type-checks against undici types (tsc --noEmit)', () => {
  let out = ''
  try {
    out = execFileSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8' })
  } catch (err) {
    assert.fail(`tsc reported errors:\n${err.stdout}${err.stderr}`)
  }
  assert.equal(out.trim(), '')
})

test('tsc rejects a store that lacks the CacheStore methods (the check can fail)', () => {
  const bad = fileURLToPath(new URL('./types/negative/tsconfig.json', import.meta.url))
  assert.throws(
    () => execFileSync(process.execPath, [tsc, '--noEmit', '-p', bad], { encoding: 'utf8', stdio: 'pipe' }),
    (err) => /TS2741|TS2739|TS2322/.test(String(err.stdout))
  )
})
