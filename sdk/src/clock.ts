/**
 * Time and randomness, injectable so that a simulator can run the same protocol core on
 * virtual time with seeded randomness.
 * @module
 */

/** A timer handle, opaque to the core. */
export type TimerHandle = unknown

/** The clock the core reads and schedules with. */
export interface Clock {
  /** Milliseconds since the epoch (or any fixed origin shared by a simulated swarm). */
  now: () => number
  setTimeout: (fn: () => void, ms: number) => TimerHandle
  clearTimeout: (handle: TimerHandle) => void
}

/** The platform's clock: `Date.now` and `setTimeout`. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => {
    const t = setTimeout(fn, ms) as unknown as { unref?: () => void }
    // In Node, a pending retry timer must not keep the process alive after everything else ended.
    if (typeof t === 'object' && t !== null && typeof t.unref === 'function') t.unref()
    return t
  },
  clearTimeout: (handle: TimerHandle) => { clearTimeout(handle as ReturnType<typeof setTimeout>) }
})

/** A source of uniform random numbers in [0, 1). */
export type Random = () => number
