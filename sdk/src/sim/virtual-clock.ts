/**
 * Virtual time for the simulator: the core's {@link Clock} interface over an event queue.
 *
 * DEV DOCS
 * - `run(until)` pops events in time order. Events due within one *quantum* (default 1 ms) run
 *   as a batch at the quantum's end, then the clock yields one macrotask so that everything
 *   they started (streamx moves data with `queueMicrotask`; munro's promises) completes at that
 *   same virtual instant. Virtual time never advances while such work is pending.
 * - Quantising delivery times costs at most one quantum of added delay per hop (≤ 1 ms vs
 *   20–80 ms links) and saves one yield per event: a yield is ~3 µs of wall time, a 1,000-peer
 *   run has millions of events. `quantumMs: 0` runs every distinct instant on its own.
 * - Events marked `core: false` are the simulator's own bookkeeping (an uplink finishing a
 *   frame); a batch of only those needs no yield.
 * - Timer handles are the events themselves; cancelling marks them (lazy deletion).
 * @module
 */
import type { Clock, TimerHandle } from '../clock.js'
import { EventQueue, type SimEvent } from './queue.js'

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /**
   * Virtual time at the start, in ms. A realistic epoch keeps the core's timestamps (and so its
   * varint-encoded frame sizes) as they would be in a real run.
   * @default 1_767_225_600_000 (2026-01-01T00:00:00Z)
   */
  origin: number
  /**
   * Events due within one quantum run together at its end. 0 runs each instant alone.
   * @default 1
   */
  quantumMs: number
  /**
   * Lets pending microtasks run; must resolve only after the microtask queue is empty (a
   * macrotask). @default setImmediate where it exists, else a MessageChannel round trip
   */
  yield: () => Promise<void>
}

function macrotask (): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown }
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate
    return new Promise(resolve => { si(resolve) })
  }
  return new Promise(resolve => {
    const { port1, port2 } = new MessageChannel()
    port1.onmessage = () => { port1.close(); resolve() }
    port2.postMessage(null)
  })
}

export const DEFAULT_VIRTUAL_CLOCK: Readonly<VirtualClockOptions> = Object.freeze({
  origin: 1_767_225_600_000,
  quantumMs: 1,
  yield: macrotask
})

/**
 * A virtual clock to pass as munro's `clock` option.
 * @example
 * ```ts
 * const clock = new VirtualClock()
 * clock.setTimeout(() => console.log(clock.elapsed), 500)
 * await clock.run(clock.now() + 1000) // prints 500 at once
 * ```
 */
export class VirtualClock implements Clock {
  private readonly queue = new EventQueue()
  private readonly opts: VirtualClockOptions
  private time: number
  private seq = 0
  /** Events run so far (cancelled ones excluded), and macrotask yields taken. */
  eventsRun = 0
  yields = 0

  constructor (options: Partial<VirtualClockOptions> = {}) {
    this.opts = { ...DEFAULT_VIRTUAL_CLOCK, ...options }
    if (!Number.isFinite(this.opts.origin)) throw new RangeError('origin: expected a finite number of ms')
    if (!(this.opts.quantumMs >= 0)) throw new RangeError('quantumMs: expected a number ≥ 0')
    this.time = this.opts.origin
  }

  /** Current virtual time (bound: the core passes `clock.now` around unbound). */
  readonly now = (): number => this.time

  /** Milliseconds since the origin. */
  get elapsed (): number { return this.time - this.opts.origin }

  get origin (): number { return this.opts.origin }

  /** Events scheduled and not yet run (including cancelled ones not yet surfaced). */
  get pending (): number { return this.queue.size }

  readonly setTimeout = (fn: () => void, ms: number): TimerHandle => this.at(this.time + Math.max(0, ms || 0), fn)

  readonly clearTimeout = (handle: TimerHandle): void => {
    if (handle !== null && typeof handle === 'object' && 'cancelled' in handle) (handle as SimEvent).cancelled = true
  }

  /** Schedules `fn` at virtual time `at` (not before now). `core: false` for simulator bookkeeping. */
  at (at: number, fn: () => void, core = true): SimEvent {
    const e: SimEvent = { at: Math.max(at, this.time), seq: this.seq++, fn, core, cancelled: false }
    this.queue.push(e)
    return e
  }

  /** Runs every event due up to `until` (absolute virtual ms); leaves the clock at `until`. */
  async run (until: number): Promise<void> {
    const q = this.opts.quantumMs
    for (;;) {
      const first = this.queue.peek()
      if (first === undefined || first.at > until) break
      const batch = q > 0 ? Math.min(until, this.opts.origin + Math.ceil((first.at - this.opts.origin) / q) * q) : first.at
      if (batch > this.time) this.time = batch
      let core = false
      for (;;) {
        const e = this.queue.peek()
        if (e === undefined || e.at > this.time) break
        this.queue.pop()
        if (e.cancelled) continue
        this.eventsRun++
        if (e.core) core = true
        e.fn()
      }
      if (core) { this.yields++; await this.opts.yield() }
    }
    if (this.time < until) this.time = until
  }

  /** Lets pending microtasks finish without advancing time. */
  async settle (): Promise<void> { await this.opts.yield() }
}
