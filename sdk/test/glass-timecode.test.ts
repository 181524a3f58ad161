import { describe, expect, it } from 'vitest'
import { createRandom } from '../src/sim/random.js'
import {
  CELLS, COLS, DATA_CELLS, ROWS, SYNC, cellRect, crc16, decodeTimecode, elapsedSince, encodeTimecode, timecodeOf
} from '../bench/pages/timecode.js'

/** A straightforward bitwise CRC-16/CCITT-FALSE over a byte list (poly 0x1021, init 0xFFFF). */
function referenceCrc (bytes: number[]): number {
  let crc = 0xffff
  for (const byte of bytes) {
    for (let b = 7; b >= 0; b--) {
      const top = ((crc >> 15) & 1) ^ ((byte >> b) & 1)
      crc = (crc << 1) & 0xffff
      if (top === 1) crc ^= 0x1021
    }
  }
  return crc
}

/** Paints cells into an RGBA buffer: white = `hi`, black = `lo`, as a canvas would. */
function render (cells: Uint8Array, width: number, height: number, lo = 0, hi = 255): Uint8ClampedArray {
  const px = new Uint8ClampedArray(width * height * 4)
  for (let i = 0; i < CELLS; i++) {
    const r = cellRect(i, width, height)
    const v = cells[i] === 1 ? hi : lo
    for (let y = r.y; y < r.y + r.h; y++) {
      for (let x = r.x; x < r.x + r.w; x++) {
        const p = (y * width + x) * 4
        px[p] = v; px[p + 1] = v; px[p + 2] = v; px[p + 3] = 255
      }
    }
  }
  return px
}

/** Adds uniform noise of ±`amp` to every channel, plus a few saturated "speckles". */
function noisy (px: Uint8ClampedArray, amp: number, rnd: () => number, speckles = 0): Uint8ClampedArray {
  const out = new Uint8ClampedArray(px.length)
  for (let i = 0; i < px.length; i++) out[i] = (px[i] as number) + Math.round((rnd() * 2 - 1) * amp)
  for (let s = 0; s < speckles; s++) {
    const p = Math.floor(rnd() * (px.length / 4)) * 4
    const v = rnd() < 0.5 ? 0 : 255
    out[p] = v; out[p + 1] = v; out[p + 2] = v
  }
  return out
}

/** Blends two pictures (a frame caught between two codes). */
function blend (a: Uint8ClampedArray, b: Uint8ClampedArray, wa: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(a.length)
  for (let i = 0; i < a.length; i++) out[i] = wa * (a[i] as number) + (1 - wa) * (b[i] as number)
  return out
}

describe('glass timecode', () => {
  it('has a sane layout', () => {
    expect(CELLS).toBe(COLS * ROWS)
    expect(DATA_CELLS.length + SYNC.size).toBe(CELLS)
    expect(crc16(0x31323334)).not.toBe(crc16(0x31323335))
    // The table-free shift form agrees with a plain bitwise CRC-16/CCITT-FALSE (check value of "123456789": 0x29B1).
    expect(crc16(0x31323334)).toBe(referenceCrc([0x31, 0x32, 0x33, 0x34]))
  })

  it('round-trips exact pixels at several sizes', () => {
    for (const v of [0, 1, 0xffffffff, 0x80000000, 0x12345678, 1_732_000_123]) {
      for (const [w, h] of [[640, 360], [160, 120], [97, 61]] as const) {
        const r = decodeTimecode(render(encodeTimecode(v), w, h), w, h)
        expect(r).toMatchObject({ ok: true, value: v })
      }
    }
  })

  it('reads noisy, low-contrast pictures', () => {
    const rnd = createRandom(42)
    for (let k = 0; k < 200; k++) {
      const v = Math.floor(rnd() * 0x100000000)
      const w = 160
      const h = 120
      // Encoder-like: black lifted, white compressed, ±40 noise, some speckles.
      const px = noisy(render(encodeTimecode(v), w, h, 16 + Math.floor(rnd() * 20), 235 - Math.floor(rnd() * 30)), 40, rnd, 60)
      const r = decodeTimecode(px, w, h)
      expect(r).toMatchObject({ ok: true, value: v })
    }
  })

  it('never misreads a frame blended between two codes', () => {
    const rnd = createRandom(7)
    let refused = 0
    for (let k = 0; k < 300; k++) {
      const a = Math.floor(rnd() * 0x100000000)
      const b = rnd() < 0.5 ? (a + 1 + Math.floor(rnd() * 100)) >>> 0 : Math.floor(rnd() * 0x100000000)
      const wa = 0.2 + rnd() * 0.6
      const px = noisy(blend(render(encodeTimecode(a), 160, 120), render(encodeTimecode(b), 160, 120), wa), 10, rnd)
      const r = decodeTimecode(px, 160, 120)
      if (r.ok) expect([a, b]).toContain(r.value)
      else refused++
    }
    expect(refused).toBeGreaterThan(250)
  })

  it('rejects flipped cells, wrong sync, flat and random pictures', () => {
    const v = 0xdeadbeef
    const cells = encodeTimecode(v)
    // Any single data-cell flip breaks the CRC (it detects every 1- and 2-bit error).
    for (const i of DATA_CELLS) {
      const c = cells.slice()
      c[i] = 1 - (c[i] as number)
      expect(decodeTimecode(render(c, 160, 120), 160, 120)).toEqual({ ok: false, reason: 'crc' })
    }
    const inverted = cells.map((c) => 1 - c)
    expect(decodeTimecode(render(inverted, 160, 120), 160, 120)).toMatchObject({ ok: false })
    expect(decodeTimecode(render(cells, 160, 120, 100, 150), 160, 120)).toEqual({ ok: false, reason: 'contrast' })
    expect(decodeTimecode(new Uint8ClampedArray(160 * 120 * 4).fill(128), 160, 120)).toEqual({ ok: false, reason: 'contrast' })
    const rnd = createRandom(99)
    let accepted = 0
    for (let k = 0; k < 500; k++) {
      const c = new Uint8Array(CELLS).map(() => (rnd() < 0.5 ? 1 : 0))
      for (const [i, s] of SYNC) c[i] = s // even with a valid sync pattern, random bits fail the CRC
      if (decodeTimecode(render(c, 64, 56), 64, 56).ok) accepted++
    }
    expect(accepted).toBeLessThanOrEqual(1) // 2^-16 per frame
  })

  it('unwraps elapsed time around 2^32 ms', () => {
    const now = 1_764_000_000_123.5
    expect(elapsedSince(timecodeOf(now - 400), now)).toBeCloseTo(400.5, 6)
    const wrapNow = 0x100000000 * 411 + 50
    expect(elapsedSince(timecodeOf(wrapNow - 120), wrapNow)).toBe(120)
    expect(elapsedSince(timecodeOf(now + 30), now)).toBeCloseTo(-29.5, 6)
  })
})
