'use strict'

const { MemoryCacheStore } = require('./lib/memory-cache-store.js')
const { CachePolicy } = require('./lib/cache-policy.js')
const { SqliteCacheStore } = require('./lib/sqlite-cache-store.js')
const { RedisCacheStore } = require('./lib/redis-cache-store.js')
const { cache } = require('./lib/interceptor.js')

module.exports = { MemoryCacheStore, SqliteCacheStore, CachePolicy, RedisCacheStore, interceptors: { cache } }
