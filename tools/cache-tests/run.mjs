#!/usr/bin/env node
// Runs HTTP cache-tests suite files (repository http-tests/cache-tests,
// tests/<suite>.mjs, copied by hand into DIR/tests/: not part of this
// repository) through ferrocache's interceptors.cache and undici's, each as a
// shared and a private cache, in the same run:
//
//   node tools/cache-tests/run.mjs DIR [suite ...]
//
// The request/response engine here is ours, written from the suite's test
// format (test-engine/lib/testsuite-schema.json) for the part of it these
// files use: per test a fresh URL on a node:http origin on 127.0.0.1 that
// answers request n with requests[n].response_headers / response_status /
// response_body, counts what it receives (Server-Request-Count), answers 304
// to `*_validated` requests whose validator matches the previous response;
// the client checks expected_type (cached / not_cached / etag_validated /
// lm_validated), expected_status, expected_response_headers(_missing) and
// expected_request_headers (a [name, '>' | '<', n] entry compares numerically;
// a configured date compares with the one the origin sent), `magic_ims` and
// `rfc850date` request dates, `magic_locations` and `filename`, pausing 3 s after `pause_after`. A failure in a
// request marked `setup` counts as a setup failure, as the suite reports it.
// It is not the suite's own engine, so totals are comparable between the
// interceptors run here, not with the suite's published results.

import http from 'node:http'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { readdirSync } from 'node:fs'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const require = createRequire(join(repo, 'index.js'))
const undici = require('undici')
const ferrocache = require(join(repo, 'index.js'))

const dir = resolve(process.argv[2] ?? '/tmp/cache-tests')
const wanted = process.argv.slice(3)
const PAUSE_MS = 3000
const DATE_HEADERS = new Set(['date', 'expires', 'last-modified', 'if-modified-since'])

/** A configured header value: numbers are seconds from now (HTTP-dates for date fields). */
function headerValue (name, value, now, rfc850 = false) {
  if (typeof value === 'number') {
    if (!DATE_HEADERS.has(name.toLowerCase())) return String(value)
    const date = new Date(now + value * 1000)
    return rfc850 ? rfc850Date(date) : date.toUTCString()
  }
  return String(value)
}

/** RFC 9110 §5.6.7 rfc850-date, e.g. `Sunday, 06-Nov-94 08:49:37 GMT` (the suite's `rfc850date`). */
function rfc850Date (date) {
  const [day, dd, mon, yyyy, time] = date.toUTCString().replace(',', '').split(' ')
  const days = { Sun: 'Sunday', Mon: 'Monday', Tue: 'Tuesday', Wed: 'Wednesday', Thu: 'Thursday', Fri: 'Friday', Sat: 'Saturday' }
  return `${days[day]}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`
}

// ---- origin ----
const configs = new Map() // uuid -> { requests, seen: [] }
const origin = http.createServer((req, res) => {
  const uuid = req.url.split('/')[2]?.split('?')[0]
  const test = configs.get(uuid)
  if (!test) {
    res.statusCode = 404
    res.end()
    return
  }
  const n = test.seen.length + 1
  // The client numbers its requests (Req-Num); the server counts what reaches it.
  const reqNum = Number.parseInt(req.headers['req-num'], 10) || n
  const config = test.requests[reqNum - 1] ?? test.requests[test.requests.length - 1]
  const previous = test.requests[reqNum - 2]
  const now = Date.now()
  const reply = () => {
    let status = config.response_status ?? [200, 'OK']
    if (config.expected_type?.endsWith('validated') && previous) {
      // the previous request's configured validators (as the suite's server reads them)
      const configured = (name) => {
        const h = (previous.response_headers ?? []).find(([n]) => n.toLowerCase() === name)
        return h === undefined ? undefined : (previous._sent?.[name] ?? headerValue(h[0], h[1], now))
      }
      const lm = configured('last-modified')
      const etag = configured('etag')
      if ((lm && req.headers['if-modified-since'] === lm) || (etag && req.headers['if-none-match'] === etag)) {
        status = [304, 'Not Modified']
      } else {
        status = [999, '304 Not Generated']
      }
    }
    res.statusCode = status[0]
    res.statusMessage = status[1]
    res.setHeader('Server-Request-Count', String(n))
    const sent = {}
    for (const [name, ...rest] of config.response_headers ?? []) {
      // [name, value] or [name, value, ..., checked?]: several values are one list
      const key = name.toLowerCase()
      let v = rest.filter((x) => typeof x !== 'boolean').map((x) => headerValue(name, x, now)).join(', ')
      // magic_locations: Location / Content-Location as full URLs under this test's URL
      if (config.magic_locations && (key === 'location' || key === 'content-location')) {
        v = `http://${req.headers.host}/test/${uuid}${v === '' ? '' : `/${v}`}`
      }
      const current = res.getHeader(name)
      res.setHeader(name, current === undefined ? v : [].concat(current, v))
      sent[key] = sent[key] === undefined ? v : `${sent[key]}, ${v}`
    }
    config._sent = sent
    config._now = now
    if (!res.hasHeader('content-type')) res.setHeader('Content-Type', 'text/plain')
    test.seen.push({ num: reqNum, method: req.method, headers: req.headers })
    if (config.disconnect) {
      res.socket.destroy()
      return
    }
    if ([204, 304].includes(res.statusCode) || req.method === 'HEAD') res.end()
    else res.end(config.response_body ?? uuid)
  }
  if (config.response_pause) setTimeout(reply, config.response_pause * 1000)
  else reply()
})
origin.keepAliveTimeout = 100
origin.listen(0, '127.0.0.1')
await once(origin, 'listening')
const base = `http://127.0.0.1:${origin.address().port}`

// ---- client ----
class Failure extends Error {
  constructor (message, setup) {
    super(message)
    this.setup = setup
  }
}

function check (cond, message, setup) {
  if (!cond) throw new Failure(message, setup)
}

async function runTest (test, dispatcher) {
  const uuid = `${test.id}-${Math.random().toString(36).slice(2)}`
  const requests = test.requests.map((r) => ({ ...r }))
  const state = { requests, seen: [] }
  configs.set(uuid, state)
  try {
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i]
      const setup = r.setup === true
      // setup_tests: checks whose failure means the test could not run
      const setupFor = (key) => setup || (r.setup_tests ?? []).includes(key)
      const reqNum = i + 1
      const now = Date.now()
      // flat [name, value, …]: a field may repeat (separate field lines)
      const headers = ['Req-Num', String(reqNum)]
      // magic_ims: If-Modified-Since relative to the origin's clock when it sent the
      // previous response (as the suite's engine computes it), not to this request's
      for (const [name, value] of r.request_headers ?? []) {
        const magic = r.magic_ims === true && name.toLowerCase() === 'if-modified-since'
        const base = magic ? (requests[i - 1]?._now ?? now) : now
        headers.push(name, headerValue(name, value, base, (r.rfc850date ?? []).includes(name.toLowerCase())))
      }
      let res
      try {
        // filename: a path under the test's URL (e.g. a Location target)
        res = await undici.request(`${base}/test/${uuid}${r.filename ? `/${r.filename}` : ''}${r.query_arg ? `?${r.query_arg}` : ''}`, {
          dispatcher,
          method: r.request_method ?? 'GET',
          headers,
          body: r.request_body,
          maxRedirections: 0,
          headersTimeout: 10_000,
          bodyTimeout: 10_000
        })
      } catch (err) {
        // The origin hung up (`disconnect`): passing the failure on is right when the
        // stored response must not be used; a cache expected to answer failed.
        if (r.disconnect === true && r.expected_type === 'not_cached') continue
        check(false, `request ${reqNum} failed: ${err.message}`, setup)
      }
      const body = await res.body.text()
      const resNum = Number(res.headers['server-request-count'])
      if (r.expected_type === 'cached') {
        check((res.statusCode === 304 && Number.isNaN(resNum)) || resNum < reqNum, `response ${reqNum} does not come from cache`, setupFor('expected_type'))
      } else if (r.expected_type === 'not_cached' && r.disconnect === true) {
        // RFC 9111 §4.2.4: an error (e.g. 504) instead of the stale response
        check(!(resNum < reqNum), `response ${reqNum} comes from cache`, setupFor('expected_type'))
      } else if (r.expected_type === 'not_cached') {
        check(resNum === reqNum, `response ${reqNum} comes from cache`, setupFor('expected_type'))
      } else if (r.expected_type === 'etag_validated' || r.expected_type === 'lm_validated') {
        const seen = state.seen.find((x) => x.num === reqNum)
        const field = r.expected_type === 'etag_validated' ? 'if-none-match' : 'if-modified-since'
        check(seen?.headers[field] !== undefined, `request ${reqNum} was not validated with ${field}`, setupFor('expected_type'))
      }
      if (r.disconnect === true && r.expected_type === 'not_cached') {
        // checked above: any non-stored answer to a disconnect will do
      } else if ('expected_status' in r) {
        if (r.expected_status !== null) check(res.statusCode === r.expected_status, `response ${reqNum} status ${res.statusCode}, not ${r.expected_status}`, setup)
      } else if (r.response_status) {
        check(res.statusCode === r.response_status[0], `response ${reqNum} status ${res.statusCode}`, true)
      } else {
        check(res.statusCode !== 999, `request ${reqNum} should have been conditional`, setupFor('expected_type'))
        check(res.statusCode === 200, `response ${reqNum} status ${res.statusCode}, not 200`, true)
      }
      for (const h of r.expected_response_headers ?? []) {
        if (typeof h === 'string') check(res.headers[h.toLowerCase()] !== undefined, `response ${reqNum} lacks ${h}`, setup)
        else if (h.length === 2) {
          const got = [].concat(res.headers[h[0].toLowerCase()] ?? []).join(', ')
          // a configured date is the one the origin sent with the response served
          const sent = DATE_HEADERS.has(h[0].toLowerCase()) && typeof h[1] === 'number'
            ? requests[resNum - 1]?._sent?.[h[0].toLowerCase()]
            : undefined
          check(got === (sent ?? headerValue(h[0], h[1], now)), `response ${reqNum} ${h[0]} is "${got}"`, setup)
        } else if (h.length === 3 && (h[1] === '>' || h[1] === '<')) {
          // [name, '>' | '<', number]: a numeric comparison (e.g. Age grows while stored)
          const got = Number([].concat(res.headers[h[0].toLowerCase()] ?? [])[0])
          check(h[1] === '>' ? got > h[2] : got < h[2], `response ${reqNum} ${h[0]} is ${got}, not ${h[1]} ${h[2]}`, setup)
        }
      }
      for (const h of r.expected_response_headers_missing ?? []) {
        if (typeof h === 'string') check(res.headers[h.toLowerCase()] === undefined, `response ${reqNum} has ${h}`, setup)
      }
      for (const h of r.expected_request_headers ?? []) {
        const seen = state.seen.find((x) => x.num === reqNum)
        if (typeof h === 'string') check(seen?.headers[h.toLowerCase()] !== undefined, `request ${reqNum} lacks ${h}`, setup)
        else check(seen?.headers[h[0].toLowerCase()] === h[1], `request ${reqNum} ${h[0]} is "${seen?.headers[h[0].toLowerCase()]}"`, setup)
      }
      if ('expected_response_text' in r && r.expected_response_text !== null) {
        check(body === r.expected_response_text, `response ${reqNum} body "${body}"`, setup)
      }
      if (r.pause_after) await sleep(PAUSE_MS)
    }
    return 'pass'
  } catch (err) {
    if (err instanceof Failure) return err.setup ? 'setup' : 'fail'
    return 'setup'
  } finally {
    configs.delete(uuid)
  }
}

const files = readdirSync(join(dir, 'tests')).filter((f) => f.endsWith('.mjs') && (wanted.length === 0 || wanted.includes(f.replace('.mjs', ''))))
const suites = []
for (const f of files) suites.push((await import(pathToFileURL(join(dir, 'tests', f)))).default)
// Ids repeat across suites (cc-parse and cc-freshness share some): key by suite too.
const tests = suites.flatMap((s) => s.tests.map((t) => ({ ...t, key: `${s.id}/${t.id}` })))

const variants = [
  ['ferrocache', 'shared', ferrocache.interceptors.cache],
  ['ferrocache', 'private', ferrocache.interceptors.cache],
  ['undici', 'shared', undici.interceptors.cache],
  ['undici', 'private', undici.interceptors.cache]
]
const results = {}
await Promise.all(variants.map(async ([who, type, cache]) => {
  const dispatcher = new undici.Agent().compose(cache({ store: new ferrocache.MemoryCacheStore(), type, methods: ['GET', 'HEAD'] }))
  // browser_only: a private cache's test; browser_skip: a shared cache's (as the suite runs them)
  // (tests driving the browser's fetch cache mode, `cache`, have no meaning here)
  const applies = (t) => (type === 'private' ? !t.browser_skip : !t.browser_only) && !t.requests.some((r) => 'cache' in r)
  const outcome = await Promise.all(tests.map((t) => applies(t) ? runTest(t, dispatcher) : 'n/a'))
  results[`${who} ${type}`] = Object.fromEntries(tests.map((t, i) => [t.key, outcome[i]]))
  await dispatcher.close()
}))
origin.close()

// `check` tests ask a question with no right answer (reported as yes / no);
// the others (required or optimal) pass or fail.
const graded = tests.filter((t) => t.kind !== 'check')
for (const [name, r] of Object.entries(results)) {
  const counts = { pass: 0, fail: 0, setup: 0 }
  for (const t of graded) if (r[t.key] !== 'n/a') counts[r[t.key]]++
  const yes = tests.filter((t) => t.kind === 'check' && r[t.key] === 'pass').length
  console.log(`${name}: ${counts.pass} passed, ${counts.fail} failed, ${counts.setup} setup failures (of ${counts.pass + counts.fail + counts.setup}); checks answered yes: ${yes} of ${tests.length - graded.length}`)
}
console.log('\nper test (ferrocache shared / private, undici shared / private):')
for (const t of tests) {
  const cells = variants.map(([w, ty]) => results[`${w} ${ty}`][t.key])
  const shown = t.kind === 'check' ? cells.map((c) => c === 'pass' ? 'yes' : c === 'fail' ? 'no' : c) : cells
  console.log(`${t.key}\t${t.kind ?? (t.required === false ? 'optimal' : 'required')}\t${shown.join('\t')}`)
}
