'use strict'

// The JS end of the Redis completion port (src/napi/redis_port.rs): native
// calls take an id and return at once; results arrive in batches through one
// threadsafe function per thread, `settle([id, ok, value, ...])`, and settle
// the Promises kept here. Loaded once per thread (each worker has its own).
const binding = require('../binding.js')

const waiting = new Map()
let nextId = 1

function settle (batch) {
  for (let i = 0; i < batch.length; i += 3) {
    const w = waiting.get(batch[i])
    if (w === undefined) continue
    waiting.delete(batch[i])
    if (batch[i + 1]) w.resolve(batch[i + 2])
    else w.reject(new Error(batch[i + 2]))
  }
}

let opened = false

/**
 * Calls `start(id)` (a native call that completes `id` on the port) and
 * returns the Promise of its result. A synchronous throw rejects.
 */
function call (start) {
  if (!opened) {
    // Created on first use: a process that never uses Redis has no port.
    binding.redisPortOpen(settle)
    opened = true
  }
  const id = nextId++
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject })
    try {
      start(id)
    } catch (err) {
      waiting.delete(id)
      reject(err)
    }
  })
}

module.exports = { call }
