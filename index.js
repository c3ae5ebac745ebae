'use strict'

const { MemoryCacheStore } = require('./lib/memory-cache-store.js')

module.exports = { MemoryCacheStore }
