/**
 * Options of a munro instance: what each one means, its default, and the checks that turn a bad
 * value into a clear error before anything starts.
 * @module
 */
import { systemClock, type Clock, type Random } from './clock.js'
import { outOfRange } from './errors.js'
import type { WindowOptions } from './log.js'
import type { SchedulerOptions } from './scheduler.js'
import type { UpstreamOptions } from './upstream.js'
import type { SignatureCache } from './verifier.js'

/** An ed25519 key pair; the public key is the stream id. */
export interface KeyPair { publicKey: Uint8Array, secretKey: Uint8Array }

/** Options of {@link munro}. Every field is optional; see {@link DEFAULT_OPTIONS}. */
export interface MunroOptions extends WindowOptions, SchedulerOptions, UpstreamOptions {
  /** Broadcaster only: the key pair to sign with. @default a fresh key pair */
  keyPair?: KeyPair
  /**
   * Broadcaster only: sign a tree head every this many appends. 1 gives the lowest latency
   * (a block can be verified the moment it is sent); N > 1 saves signatures at the cost of up to
   * N-1 blocks of delay (measure with `npm run bench`). Call `flush()` to sign early.
   * @default 1
   */
  signEvery: number
  /**
   * Receiver: where eager download starts. 'live' starts `liveBacklog` blocks before the live
   * edge seen in the first peer's announcement; a number starts there.
   * @default 'live'
   */
  start: 'live' | number
  /** Receiver: blocks before the live edge to start at, with `start: 'live'`. @default 1 */
  liveBacklog: number
  /**
   * Receiver: the stream's bitrate (bits/s) assumed until the headers of two blocks give the
   * real one. It only sizes this peer's upload in copies of the stream (`uploadCopies`), so that
   * a viewer joining a flash crowd, whose first blocks are slow to come, is placed by its upload
   * within its probe's time instead of seconds later. 0 assumes nothing (`uploadCopies` stays
   * null until two blocks arrived).
   * @default 2_500_000 (Chromium's MediaRecorder default, what the media layer records unless told)
   */
  expectedBitrate: number
  /** Timers and `now`. @default the platform's clock */
  clock: Clock
  /** Uniform random numbers in [0, 1). @default Math.random */
  random: Random
  /** Verified-signature cache; may be shared by peers of one process. @default a private cache */
  signatureCache?: SignatureCache
}

/** Defaults of {@link MunroOptions}. */
export const DEFAULT_OPTIONS: Readonly<Omit<MunroOptions, 'keyPair' | 'signatureCache' | 'maxSubscribers'>> = Object.freeze({
  signEvery: 1,
  start: 'live',
  liveBacklog: 1,
  maxBlocks: 1024,
  maxBytes: 64 * 1024 * 1024,
  requestTimeout: 2000,
  maxInflightPerPeer: 16,
  pushGrace: 300,
  rootPullDelay: 1000,
  fullHaveDelay: 1000,
  rescueDelay: 500,
  expectedBitrate: 2_500_000,
  clock: systemClock,
  random: Math.random
})

/**
 * `options` over the defaults (`maxSubscribers`: 1 for the broadcaster, `writable`, 6 for a
 * receiver), checked: a value out of range throws a RangeError with code ERR_INVALID_ARGUMENT
 * naming the option.
 */
export function resolveOptions (writable: boolean, options: Partial<MunroOptions>): MunroOptions {
  const o: MunroOptions = { ...DEFAULT_OPTIONS, maxSubscribers: writable ? 1 : 6, ...options }
  if (!Number.isInteger(o.maxSubscribers) || o.maxSubscribers < 0) throw outOfRange('maxSubscribers', 'an integer ≥ 0')
  if (!(o.pushGrace >= 0)) throw outOfRange('pushGrace', 'a non-negative number of ms')
  if (!(o.rootPullDelay >= 0)) throw outOfRange('rootPullDelay', 'a non-negative number of ms')
  if (!(o.fullHaveDelay >= 0 && o.fullHaveDelay < Infinity)) throw outOfRange('fullHaveDelay', 'a non-negative number of ms')
  if (!(o.rescueDelay >= 0 && o.rescueDelay < Infinity)) throw outOfRange('rescueDelay', 'a non-negative number of ms')
  if (!(o.expectedBitrate >= 0 && o.expectedBitrate < Infinity)) throw outOfRange('expectedBitrate', 'a non-negative number of bits/s')
  if (!Number.isInteger(o.signEvery) || o.signEvery < 1) throw outOfRange('signEvery', 'an integer ≥ 1')
  if (!Number.isInteger(o.maxBlocks) || o.maxBlocks < 1) throw outOfRange('maxBlocks', 'an integer ≥ 1')
  if (!(o.maxBytes > 0)) throw outOfRange('maxBytes', 'a positive number')
  if (!Number.isInteger(o.liveBacklog) || o.liveBacklog < 1) throw outOfRange('liveBacklog', 'an integer ≥ 1')
  if (o.start !== 'live' && !(Number.isInteger(o.start) && o.start >= 0)) throw outOfRange('start', "'live' or a block index")
  return o
}
