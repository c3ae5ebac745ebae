#!/usr/bin/env node
// Runs undici's own cache-interceptor test files against ferrocache's
// interceptor and, in the same run, against undici's, and prints a summary.
//
// The test files are undici's (repository nodejs/undici, test/interceptors/),
// copied by hand into DIR/test/interceptors/ (not part of this repository).
// Their imports (`require('../../index')`, `../../lib/cache/memory-cache-store`)
// resolve to a small tree this script writes into DIR: the installed undici,
// with `interceptors.cache` replaced by ferrocache's when PEER=ferrocache.
//
//   node tools/undici-peer-tests.mjs /tmp/undici-peer
//
// Needs @sinonjs/fake-timers 12 (the major undici 7 tests with) resolvable from DIR:
// `npm install --prefix DIR @sinonjs/fake-timers@12` (later majors fake more and hang them).

import { writeFileSync, mkdirSync, readdirSync, existsSync, symlinkSync } from 'node:fs'
import { join, resolve, dirname } from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const dir = resolve(process.argv[2] ?? '/tmp/undici-peer')
const testDir = join(dir, 'test', 'interceptors')
if (!existsSync(testDir)) {
  console.error(`no ${testDir}: copy undici's test files there first`)
  process.exit(2)
}

const undiciDir = join(repo, 'node_modules', 'undici')
writeFileSync(join(dir, 'index.js'), `'use strict'
const undici = require(${JSON.stringify(undiciDir)})
if (process.env.PEER === 'ferrocache') {
  const ours = require(${JSON.stringify(join(repo, 'index.js'))})
  module.exports = { ...undici, interceptors: { ...undici.interceptors, cache: ours.interceptors.cache } }
} else {
  module.exports = undici
}
`)
mkdirSync(join(dir, 'lib', 'cache'), { recursive: true })
writeFileSync(join(dir, 'lib', 'cache', 'memory-cache-store.js'),
  `module.exports = require(${JSON.stringify(join(undiciDir, 'lib', 'cache', 'memory-cache-store.js'))})\n`)
if (!existsSync(join(dir, 'node_modules', '@sinonjs', 'fake-timers'))) {
  console.error(`install @sinonjs/fake-timers in ${dir} first (npm install --prefix ${dir} @sinonjs/fake-timers@12)`)
  process.exit(2)
}

const files = (process.argv.slice(3).length ? process.argv.slice(3) : readdirSync(testDir).filter((f) => f.endsWith('.js')))
const summary = []
for (const file of files) {
  for (const peer of ['undici', 'ferrocache']) {
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(testDir, file)], {
      env: { ...process.env, PEER: peer },
      encoding: 'utf8',
      timeout: 300_000
    })
    const out = r.stdout ?? ''
    const failed = [...out.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1])
      .filter((name) => !/^(Cache Interceptor|Client-side directives|cache interceptor with async store|revalidates the request, handles 304s during stale-while-revalidate)$/.test(name))
    const pass = Number(/^# pass (\d+)/m.exec(out)?.[1] ?? NaN)
    const fail = Number(/^# fail (\d+)/m.exec(out)?.[1] ?? NaN)
    // node:test cancels the tests left when one awaits a Promise nothing can settle
    // any more (the event loop emptied): they are listed as `not ok` too.
    const cancelled = Number(/^# cancelled (\d+)/m.exec(out)?.[1] ?? 0)
    summary.push({ file, peer, pass, fail, cancelled, failed })
  }
}
for (const s of summary) {
  console.log(`${s.file}\t${s.peer}\tpass ${s.pass}\tfail ${s.fail}${s.cancelled ? `\tcancelled ${s.cancelled}` : ''}`)
  for (const f of s.failed) console.log(`\t\tnot ok: ${f}`)
}
