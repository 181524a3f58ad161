/**
 * Runs a signaling server in its own process for the load benchmark, so that its memory is
 * measured apart from the load generator. Talks to the parent over IPC.
 */
import { createSignalingServer } from '../../signaling-server/src/index.js'

const server = await createSignalingServer({
  port: 0, host: '127.0.0.1', log: null, maxSockets: 2000, maxPeersPerRoom: 64
})
process.send?.({ type: 'ready', url: server.url })
process.on('message', (m: { type: string }) => {
  if (m.type === 'memory') {
    global.gc?.()
    process.send?.({ type: 'memory', memory: process.memoryUsage(), stats: server.stats() })
  }
  if (m.type === 'close') void server.close().then(() => process.exit(0))
})
