// Runs the store contract against ferrocache's MemoryCacheStore and, as the
// reference, undici's own MemoryCacheStore (undici 7, the version installed).
import { createRequire } from 'node:module'
import { storeContract } from './helpers/store-contract.mjs'

const require = createRequire(import.meta.url)
const { MemoryCacheStore } = require('../index.js')
const UndiciMemoryCacheStore = require('undici').cacheStores.MemoryCacheStore

storeContract('ferrocache MemoryCacheStore', (opts) => new MemoryCacheStore(opts), { reference: false })
storeContract('undici MemoryCacheStore (reference)', (opts) => new UndiciMemoryCacheStore(opts), { reference: true })
