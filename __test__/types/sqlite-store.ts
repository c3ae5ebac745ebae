// Compiled by __test__/types.test.mjs with `tsc --noEmit`: SqliteCacheStore is
// accepted where undici's types expect a CacheStore, with undici's options.
import { Agent, interceptors } from 'undici'
import type CacheHandler from 'undici/types/cache-interceptor'
import { SqliteCacheStore } from '../../index'

const store = new SqliteCacheStore({ location: '/tmp/cache.db', maxCount: 1000, maxEntrySize: 1e6 })
const asUndiciStore: CacheHandler.CacheStore = store
new Agent().compose(interceptors.cache({ store }))
new Agent().compose(interceptors.cache({ store: asUndiciStore }))

async function read (): Promise<number | undefined> {
  const hit = await store.get({ origin: 'http://a', method: 'GET', path: '/', headers: {} })
  return hit?.body?.reduce((n, b) => n + b.length, 0)
}
void read
const rows: number = store.count + store.size
void rows
store.close()
