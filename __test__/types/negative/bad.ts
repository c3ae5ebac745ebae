// Must NOT compile: an object missing createWriteStream is no CacheStore.
import type CacheHandler from 'undici/types/cache-interceptor'
const notAStore = { get () { return undefined }, delete () {} }
export const s: CacheHandler.CacheStore = notAStore
