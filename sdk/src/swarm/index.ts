export { joinSwarm, Swarm, DEFAULT_SWARM_OPTIONS, MAX_BANNED } from './swarm.js'
export type { SwarmOptions, SwarmStats, SwarmPeerStats, SwarmEvents } from './swarm.js'
export { DEFAULT_TOPOLOGY, pickDials, shouldAccept } from './topology.js'
export type { TopologyOptions, TopologyState } from './topology.js'
