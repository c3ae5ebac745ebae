// Compiled by __test__/types.test.mjs with `tsc --noEmit`: ferrocache's
// interceptor composes where undici's does, over ours or undici's stores.
import { Agent, cacheStores, fetch } from 'undici'
import { interceptors, MemoryCacheStore } from '../../index'

const agent = new Agent().compose(interceptors.cache({ store: new MemoryCacheStore(), type: 'shared' }))
new Agent().compose(interceptors.cache({ store: new cacheStores.MemoryCacheStore(), methods: ['GET', 'HEAD'], type: 'private', cacheByDefault: 60 }))
new Agent().compose(interceptors.cache())
void fetch('http://127.0.0.1/', { dispatcher: agent })
