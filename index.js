'use strict'

const { MemoryCacheStore } = require('./lib/memory-cache-store.js')
const { CachePolicy } = require('./lib/cache-policy.js')

module.exports = { MemoryCacheStore, CachePolicy }
