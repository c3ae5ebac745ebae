// Compiled by __test__/types.test.mjs with `tsc --noEmit`: our hand-written
// types must be accepted where undici's own types expect a CacheStore.
import { Agent, interceptors } from 'undici'
import type CacheHandler from 'undici/types/cache-interceptor'
import { MemoryCacheStore } from '../../index'

const store = new MemoryCacheStore({ maxSize: 200e6, maxCount: 10_000 })
const asUndiciStore: CacheHandler.CacheStore = store
new Agent().compose(interceptors.cache({ store }))
new Agent().compose(interceptors.cache({ store: asUndiciStore }))

store.on('maxSizeExceeded', ({ size, maxSize, count, maxCount }) => {
  const total: number = size + maxSize + count + maxCount
  return total
})
const hit = store.get({ origin: 'http://a', method: 'GET', path: '/', headers: {} })
if (hit !== undefined) {
  const code: number = hit.statusCode
  const chunks: Buffer[] | undefined = hit.body
  void code
  void chunks
}
const ratio: number = store.stats().hitRatio
void ratio
