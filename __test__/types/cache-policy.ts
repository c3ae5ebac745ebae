// Code typed against npm http-cache-semantics (via @types/http-cache-semantics)
// must accept ferrocache's CachePolicy unchanged. Compiled by
// __test__/cache-policy-types.test.mjs with `tsc --noEmit`.
import Peer = require('http-cache-semantics')
import { CachePolicy } from '../../index'

const req: Peer.Request = { url: '/products/123', method: 'GET', headers: { host: 'shop.example' } }
const res: Peer.Response = { status: 200, headers: { 'cache-control': 'max-age=60' } }

// A helper written for http-cache-semantics, taking the class itself.
function cachedTtl (Policy: typeof Peer, options: Peer.Options): number {
  const policy = new Policy(req, res, options)
  if (!policy.storable()) return 0
  const restored: Peer = Policy.fromObject(policy.toObject())
  const { policy: updated, modified, matches } = restored.revalidatedPolicy(req, { status: 304, headers: {} })
  const result: Peer.EvaluateRequestResult = updated.evaluateRequest(req)
  const headers: Peer.Headers = result.response ? result.response.headers : updated.revalidationHeaders(req)
  return modified || !matches || !headers ? 0 : updated.timeToLive() + updated.maxAge() + updated.age()
}

// Our class where the package's class is expected.
cachedTtl(CachePolicy, { shared: false, cacheHeuristic: 0.1, immutableMinTimeToLive: 1000, ignoreCargoCult: true })

// Our instances where the package's instances are expected.
const asPeer: Peer = new CachePolicy(req, res)
const obj: Peer.CachePolicyObject = asPeer.toObject()
const fromPeerObject: CachePolicy = CachePolicy.fromObject(obj)
const stale: boolean = fromPeerObject.stale() && fromPeerObject.useStaleWhileRevalidate()
const date: number = fromPeerObject.date() + fromPeerObject.status()

// Subclasses override now(); fromObject returns the subclass.
class FixedClock extends CachePolicy {
  now (): number { return 0 }
}
const sub: FixedClock = FixedClock.fromObject(new FixedClock(req, res).toObject())
const subUpdated: FixedClock = sub.revalidatedPolicy(req, { headers: {} }).policy

// The compiler really checks this file: these must be errors.
// @ts-expect-error storable() takes no argument
asPeer.storable(1)
// @ts-expect-error a response is required
new CachePolicy(req)

export { stale, date, subUpdated }
