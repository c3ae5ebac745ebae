// Runs only the redis-store suite's 2-proxy row (bench/suites/redis-store.mjs)
// on a private redis-server and prints it: `node bench/proxy-row.mjs`.
import { twoProxies } from './suites/redis-store.mjs'
import { startRedis } from '../__test__/helpers/redis-server.mjs'

const server = await startRedis()
try {
  const r = await twoProxies(server)
  console.log(`${r.row}: ours ${r.ours.toFixed(1)}, ${r.peerName} ${r.peer.toFixed(1)}, ratio ${(r.ours / r.peer).toFixed(3)}\n${r.note}`)
} finally {
  await server.stop()
}
process.exit(0)
