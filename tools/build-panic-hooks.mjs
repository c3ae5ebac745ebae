// `npm run build:panic-hooks`: the debug addon with the test-only panic hooks
// (cargo feature `panic-hooks`, src/napi/panic_hooks.rs), copied to
// target/panic-hooks/ferrocache.node for __test__/panic-boundary.test.mjs.
//
// Plain `cargo build` for the host, not `napi build --platform`: napi passes
// an explicit `--target`, which puts every dependency in another directory and
// compiles them all again (measured: +105 s CPU on a fresh CI machine), while
// this reuses what `cargo test` compiled just before and builds only this
// crate (~8 s CPU). The release addon the other suites load is untouched.

import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = execFileSync('cargo', ['build', '--lib', '--features', 'panic-hooks', '--message-format=json-render-diagnostics'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 256 * 1024 * 1024
})
let library
for (const line of out.split('\n')) {
  if (!line.startsWith('{')) continue
  const msg = JSON.parse(line)
  if (msg.reason === 'compiler-artifact' && msg.target?.name === 'ferrocache' && msg.target.kind.includes('cdylib')) {
    library = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f))
  }
}
if (library === undefined) throw new Error('cargo build produced no ferrocache cdylib')
const dir = join(root, 'target', 'panic-hooks')
mkdirSync(dir, { recursive: true })
copyFileSync(library, join(dir, 'ferrocache.node'))
console.log(`panic-hooks addon: ${join(dir, 'ferrocache.node')}`)
