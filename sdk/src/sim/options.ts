/**
 * The simulator's settings ({@link SimOptions}) and their defaults: the population (upload mix,
 * joins, churn, tamperers), the stream, the network and the core's options.
 * @module
 */
import { munro, type Munro } from '../munro.js'
import type { MunroOptions } from '../options.js'
import { DEFAULT_TOPOLOGY, type TopologyOptions } from '../swarm/topology.js'

/** A share of the viewers with one upload capacity. */
export interface UploadClass { label: string, share: number, bitsPerSecond: number }

/** Options of {@link simulate}; see {@link DEFAULT_SIM_OPTIONS}. */
export interface SimOptions {
  /** Seed of every random choice. @default 1 */
  seed: number
  /** Viewers present from the start (plus late joiners and tamperers). @default 50 */
  viewers: number
  /** Stream length (appends) in virtual ms. @default 20000 */
  durationMs: number
  /** Initial viewers join at random within this window, before the stream starts. @default 1000 */
  joinWindowMs: number
  /** The first block is appended this long after the start. @default 2000 */
  warmupMs: number
  /** The run continues this long after the last append. @default 3000 */
  tailMs: number
  /** Stream bit rate. @default 2_500_000 */
  bitrate: number
  /** A block is appended every this many ms. @default 300 */
  blockMs: number
  /** A block starting a new keyframe interval carries the keyframe flags. @default 1000 */
  keyframeIntervalMs: number
  /** Size of a keyframe block relative to the mean (others shrink to keep the bit rate). @default 1.5 */
  keyframeSizeFactor: number
  /** Uniform ± jitter of block sizes. @default 0.1 */
  sizeJitter: number
  /** The real swarm's topology policy. @default DEFAULT_TOPOLOGY */
  topology: TopologyOptions
  /** Broadcaster upload capacity in bit/s (Infinity: an ideal server). @default 20_000_000 */
  broadcasterUploadBps: number
  /**
   * Viewers' upload capacities, dealt so that every `viewers` honest joiners in turn hold these
   * shares exactly (rounded by largest remainder), in a seeded random order.
   * @default 30% at 1 Mbit/s, 50% at 5, 20% at 20
   */
  uploadMix: UploadClass[]
  /** Range of a peer's access delay; a link's one-way delay is the sum of its ends'. @default [10, 40] */
  accessDelayMs: [number, number]
  /** Packet loss rate (repaired after one round trip, see link.ts). @default 0.002 */
  lossRate: number
  /** Extra one-way delay of the signaling server beyond a peer's access delay. @default 10 */
  signalingDelayMs: number
  /** Round trips between the answer and an open connection. @default 2 */
  connectRtts: number
  /** How often a peer re-runs `pickDials`. @default 1000 */
  maintainIntervalMs: number
  /** Share of the viewers that join during the stream instead of before it. @default 0 */
  lateJoinShare: number
  /** Viewers leaving (each replaced by a newcomer) per minute, as a share of `viewers`. @default 0 */
  churnPerMinute: number
  /**
   * Times (ms into the stream) at which a child of the broadcaster leaves, replaced by a newcomer
   * as churn is: the top of the trees failing, on purpose rather than by the draw. @default []
   */
  rootLeavesAtMs: number[]
  /** Extra viewers that corrupt every piece they send. @default 0 */
  tamperers: number
  /** One SignatureCache for every peer (a reported shortcut). @default false */
  sharedSignatureCache: boolean
  /** Options of every core instance (clock, random and signatureCache are set by the simulator). */
  core: Partial<MunroOptions>
  /** Builds a core instance: the broadcaster (id null) or a viewer. @default munro */
  createCore: (id: Uint8Array | null, options: Partial<MunroOptions>) => Munro
  /** A block verified later than this after its append missed playback. @default 2000 */
  deadlineMs: number
  /** Blocks appended this long after the stream started are also reported as steady state. @default 10000 */
  steadyFromMs: number
  /** Virtual-clock quantum (see virtual-clock.ts). @default 1 */
  quantumMs: number
  /** Per-frame header bytes on the wire. @default 48 */
  frameOverheadBytes: number
  /** Memory samples (log bytes per viewer) every this many ms. @default 5000 */
  sampleEveryMs: number
  /** Optional probe sampled with memory (e.g. the process heap, in a Node benchmark). */
  probe?: () => number
}

export const DEFAULT_SIM_OPTIONS: Readonly<SimOptions> = Object.freeze<SimOptions>({
  seed: 1,
  viewers: 50,
  durationMs: 20_000,
  joinWindowMs: 1000,
  warmupMs: 2000,
  tailMs: 3000,
  bitrate: 2_500_000,
  blockMs: 300,
  keyframeIntervalMs: 1000,
  keyframeSizeFactor: 1.5,
  sizeJitter: 0.1,
  topology: DEFAULT_TOPOLOGY,
  broadcasterUploadBps: 20_000_000,
  uploadMix: [
    { label: 'weak', share: 0.3, bitsPerSecond: 1_000_000 },
    { label: 'mid', share: 0.5, bitsPerSecond: 5_000_000 },
    { label: 'strong', share: 0.2, bitsPerSecond: 20_000_000 }
  ],
  accessDelayMs: [10, 40],
  lossRate: 0.002,
  signalingDelayMs: 10,
  connectRtts: 2,
  maintainIntervalMs: 1000,
  lateJoinShare: 0,
  churnPerMinute: 0,
  rootLeavesAtMs: [],
  tamperers: 0,
  sharedSignatureCache: false,
  core: { maxBlocks: 16 },
  createCore: (id, options) => munro(id, options),
  deadlineMs: 2000,
  steadyFromMs: 10_000,
  quantumMs: 1,
  frameOverheadBytes: 48,
  sampleEveryMs: 5000
})
