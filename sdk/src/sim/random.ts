/**
 * Seeded pseudo-random numbers for reproducible simulations: a 32-bit Weyl sequence passed
 * through an integer mixing function (the finaliser of a well-known 32-bit hash). Not for
 * cryptography. Every simulated peer draws from its own stream ({@link deriveSeed}), so adding
 * a peer or an event does not shift the numbers every other peer sees.
 * @module
 */
import type { Random } from '../clock.js'

function mix32 (x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** A seed for the sub-stream `label` of `seed` (e.g. one per peer and purpose). */
export function deriveSeed (seed: number, label: string): number {
  let h = mix32(seed >>> 0 ^ 0x9e3779b9)
  for (let i = 0; i < label.length; i++) h = mix32(h ^ Math.imul(label.charCodeAt(i) + 1, 0x27d4eb2d))
  return h
}

/** A seeded source of uniform numbers in [0, 1), with a few helpers. */
export interface SeededRandom extends Random {
  /** An integer in [0, n). */
  int: (n: number) => number
  /** A number in [lo, hi). */
  uniform: (lo: number, hi: number) => number
  /** Fills `out` with random bytes. */
  fill: (out: Uint8Array) => Uint8Array
}

/**
 * A seeded random source.
 * @example
 * ```ts
 * const r = createRandom(42)
 * r() // the same number in every run with seed 42
 * ```
 */
export function createRandom (seed: number): SeededRandom {
  if (!Number.isFinite(seed)) throw new RangeError('seed: expected a finite number')
  let state = seed >>> 0
  const next32 = (): number => {
    state = (state + 0x9e3779b9) | 0
    return mix32(state)
  }
  const r = (() => next32() / 4294967296) as SeededRandom
  r.int = (n) => Math.floor(r() * n)
  r.uniform = (lo, hi) => lo + r() * (hi - lo)
  r.fill = (out) => {
    let i = 0
    for (; i + 4 <= out.length; i += 4) {
      const v = next32()
      out[i] = v & 0xff; out[i + 1] = (v >>> 8) & 0xff; out[i + 2] = (v >>> 16) & 0xff; out[i + 3] = v >>> 24
    }
    for (; i < out.length; i++) out[i] = next32() & 0xff
    return out
  }
  return r
}
