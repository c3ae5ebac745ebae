// Runs the store contract against ferrocache's SqliteCacheStore (in memory and
// in a file). `memory: false` skips MemoryCacheStore-only API (size in bytes,
// isFull, 'maxSizeExceeded', its LRU and stats promises).
import { createRequire } from 'node:module'
import { after } from 'node:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { storeContract } from './helpers/store-contract.mjs'

const require = createRequire(import.meta.url)
const { SqliteCacheStore } = require('../index.js')

const dir = mkdtempSync(join(tmpdir(), 'ferrocache-contract-'))
const opened = []
let n = 0
after(() => {
  for (const s of opened) s.close()
  rmSync(dir, { recursive: true, force: true })
})

function open (opts, location) {
  const s = new SqliteCacheStore(opts === undefined ? { location } : typeof opts === 'object' && opts !== null ? { ...opts, location } : opts)
  opened.push(s)
  return s
}

storeContract('ferrocache SqliteCacheStore (:memory:)', (opts) => open(opts, ':memory:'), { memory: false })
storeContract('ferrocache SqliteCacheStore (file)', (opts) => open(opts, join(dir, `c${n++}.db`)), { memory: false })
