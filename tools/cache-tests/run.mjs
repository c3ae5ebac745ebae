#!/usr/bin/env node
// Runs the HTTP cache-tests suite (repository http-tests/cache-tests: its tests
// AND its own engine, from a checkout in DIR; the suite is not part of this
// repository) through ferrocache's interceptors.cache and undici's, each as a
// shared and a private cache:
//
//   node tools/cache-tests/run.mjs DIR [--only ferrocache|undici] [--type shared|private]
//                                      [--store memory|sqlite|undici] [--json FILE]
//
// DIR needs `tests/index.mjs` and `test-engine/` (client, server, lib) of the
// suite, and `npm install` run in it (its engine imports undici for interim
// responses). Each cache (who × type) runs in its own child process, because
// the suite's engine keeps its results in module state: the child starts the
// suite's own origin server (test-engine/server/server.mjs) on a free port,
// makes undici's `fetch` the global one with an `Agent` composed with the
// interceptor under test as the global dispatcher (as undici runs the suite in
// its own CI), runs `runTests(tests, type === 'private', base)` and grades each
// result with the suite's `determineTestResult` (dependencies honoured, as the
// suite's report does). "passed" counts what the suite's report counts as a
// pass: required and optimal tests passed plus `check` tests answered yes.

import { fork } from 'node:child_process'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { join, resolve, dirname } from 'node:path'
import { tmpdir } from 'node:os'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

if (process.env.CT_CHILD) {
  await child(JSON.parse(process.env.CT_CHILD))
} else {
  await parent()
}

async function parent () {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      only: { type: 'string', multiple: true },
      type: { type: 'string', multiple: true },
      store: { type: 'string', default: 'memory' },
      json: { type: 'string' }
    }
  })
  const dir = resolve(positionals[0] ?? '')
  if (!positionals[0] || !existsSync(join(dir, 'tests', 'index.mjs')) || !existsSync(join(dir, 'test-engine', 'client', 'runner.mjs'))) {
    console.error('usage: node tools/cache-tests/run.mjs DIR   (DIR: a checkout of http-tests/cache-tests with npm install run in it)')
    process.exit(2)
  }
  const whos = values.only ?? ['ferrocache', 'undici']
  const types = values.type ?? ['shared', 'private']
  const envs = whos.flatMap((who) => types.map((type) => ({ who, type, store: values.store, dir })))
  const outcomes = await Promise.all(envs.map(async (env) => ({ env, ...(await runChild(env)) })))

  const { default: tests } = await import(pathToFileURL(join(dir, 'tests', 'index.mjs')))
  const ids = tests.flatMap((s) => s.tests.map((t) => t.id))
  console.log('cache | tests run | passed (pass + check yes) | failed | optional failed | check no | setup failed | dependency failed | harness failed')
  for (const { env, summary } of outcomes) {
    const s = summary.counts
    console.log(`${env.who} ${env.type} (${env.store}) | ${s.total} | ${s.pass + s.yes} | ${s.fail} | ${s.optional_fail} | ${s.no} | ${s.setup_fail} | ${s.dependency_fail} | ${s.harness_fail + s.retry + s.untested}`)
  }
  console.log('\nper test, where the caches differ or any did not pass:')
  for (const id of ids) {
    const cells = outcomes.map(({ summary }) => summary.grades[id] ?? 'n/a')
    if (cells.every((c) => c === 'pass' || c === 'yes' || c === 'n/a') && new Set(cells).size === 1) continue
    console.log(`${id}\t${cells.join('\t')}`)
  }
  console.log(`\ncolumns: ${outcomes.map(({ env }) => `${env.who} ${env.type}`).join(', ')}`)
  if (values.json) {
    writeFileSync(values.json, JSON.stringify(outcomes.map(({ env, summary }) => ({ who: env.who, type: env.type, store: env.store, counts: summary.counts, grades: summary.grades, messages: summary.messages })), null, 1))
  }
  const broken = outcomes.filter((o) => o.code !== 0)
  if (broken.length) {
    for (const o of broken) console.error(`${o.env.who} ${o.env.type}: child exited ${o.code}\n${o.stderr}`)
    process.exit(1)
  }
}

async function freePort () {
  const srv = createServer().listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const { port } = srv.address()
  srv.close()
  await once(srv, 'close')
  return port
}

async function runChild (env) {
  const port = await freePort()
  const scratch = mkdtempSync(join(tmpdir(), 'cache-tests-'))
  const proc = fork(fileURLToPath(import.meta.url), [], {
    cwd: env.dir,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...process.env,
      CT_CHILD: JSON.stringify({ ...env, port, scratch }),
      // what the suite's server reads (normally set by `npm run server`)
      npm_config_protocol: 'http',
      npm_config_port: String(port),
      npm_config_pidfile: join(scratch, 'server.pid')
    }
  })
  let stderr = ''
  proc.stderr.on('data', (d) => { stderr += d })
  proc.stdout.resume()
  const [summary] = await Promise.race([
    once(proc, 'message'),
    once(proc, 'exit').then(() => [{ counts: {}, grades: {}, messages: {} }])
  ])
  const [code] = proc.exitCode === null ? await once(proc, 'exit') : [proc.exitCode]
  rmSync(scratch, { recursive: true, force: true })
  return { summary, code, stderr }
}

async function child ({ who, type, store: storeKind, dir, port, scratch }) {
  const require = createRequire(join(repo, 'index.js'))
  const undici = require('undici')
  const ferrocache = require(join(repo, 'index.js'))
  const store = storeKind === 'sqlite'
    ? new ferrocache.SqliteCacheStore({ location: join(scratch, 'cache.db') })
    : storeKind === 'undici'
      ? new undici.cacheStores.MemoryCacheStore()
      : new ferrocache.MemoryCacheStore()
  const cache = who === 'ferrocache' ? ferrocache.interceptors.cache : undici.interceptors.cache
  undici.setGlobalDispatcher(new undici.Agent().compose(cache({ store, type, methods: ['GET', 'HEAD'] })))
  // the suite's engine calls the global fetch: make it undici's, over that dispatcher
  globalThis.fetch = undici.fetch

  const suite = (p) => import(pathToFileURL(join(dir, p)))
  await suite('test-engine/server/server.mjs')
  const { runTests, getResults } = await suite('test-engine/client/runner.mjs')
  const { determineTestResult, resultTypes } = await suite('test-engine/lib/results.mjs')
  const { default: tests } = await suite('tests/index.mjs')

  await runTests(tests, type === 'private', `http://127.0.0.1:${port}`)
  const results = getResults()
  const names = new Map(Object.entries(resultTypes).map(([name, value]) => [value, name]))
  const counts = Object.fromEntries([...names.values()].map((n) => [n, 0]))
  const grades = {}
  const messages = {}
  for (const id of Object.keys(results)) {
    const grade = names.get(determineTestResult(tests, id, results, true)) ?? 'untested'
    counts[grade]++
    grades[id] = grade
    if (results[id] !== true) messages[id] = results[id]
  }
  counts.total = Object.keys(results).length
  process.send({ counts, grades, messages }, () => process.exit(0))
}
