/**
 * A visual timecode for the glass-to-glass benchmark: a 32-bit number painted as a grid of large
 * black/white squares, and read back from decoded video pixels. Pure functions (no DOM), shared
 * by the benchmark page and its unit test.
 *
 * Layout: {@link COLS} × {@link ROWS} cells filling the picture, row-major. Eight cells are a fixed
 * sync pattern (four corners and four mid-edge cells, both colours, so the decoder can calibrate
 * its black/white threshold per frame); the other 48 carry the 32 value bits, most significant
 * first, then a CRC-16/CCITT of the value's four bytes. A frame is accepted only if the sync
 * cells have enough contrast and match, every cell is clearly black or clearly white (a frame
 * blended between two codes, or smeared by the encoder, is refused rather than misread), and
 * the CRC matches.
 * @module
 */

export const COLS = 8
export const ROWS = 7
export const CELLS = COLS * ROWS
export const VALUE_BITS = 32
export const CRC_BITS = 16

/** Sync cell index → its colour (1 white, 0 black). */
export const SYNC: ReadonlyMap<number, 0 | 1> = new Map<number, 0 | 1>([
  [0, 1], [COLS - 1, 0], [CELLS - COLS, 0], [CELLS - 1, 1],
  [3, 0], [4, 1], [CELLS - COLS + 3, 1], [CELLS - COLS + 4, 0]
])

/** Cell indexes that carry bits (value, then CRC), in bit order. */
export const DATA_CELLS: readonly number[] = Array.from({ length: CELLS }, (_, i) => i).filter((i) => !SYNC.has(i))
if (DATA_CELLS.length !== VALUE_BITS + CRC_BITS) throw new Error('timecode layout: wrong number of data cells')

/** Smallest accepted difference between the mean white and mean black sync luminance (0–255). */
export const MIN_CONTRAST = 80
/** A cell must be at least this fraction of the contrast away from the threshold. */
export const MARGIN = 0.25

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the value's four big-endian bytes. */
export function crc16 (value: number): number {
  let crc = 0xffff
  for (let shift = 24; shift >= 0; shift -= 8) {
    crc ^= ((value >>> shift) & 0xff) << 8
    for (let b = 0; b < 8; b++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/** Cell colours (1 white, 0 black), row-major, for a 32-bit unsigned `value`. */
export function encodeTimecode (value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`value must be a u32, got ${value}`)
  const cells = new Uint8Array(CELLS)
  for (const [i, c] of SYNC) cells[i] = c
  const crc = crc16(value)
  DATA_CELLS.forEach((cell, bit) => {
    cells[cell] = bit < VALUE_BITS
      ? (value >>> (VALUE_BITS - 1 - bit)) & 1
      : (crc >>> (CRC_BITS - 1 - (bit - VALUE_BITS))) & 1
  })
  return cells
}

/** The pixel rectangle of cell `i` in a `width` × `height` picture (edges rounded). */
export function cellRect (i: number, width: number, height: number): { x: number, y: number, w: number, h: number } {
  const col = i % COLS
  const row = Math.floor(i / COLS)
  const x0 = Math.round((col * width) / COLS)
  const x1 = Math.round(((col + 1) * width) / COLS)
  const y0 = Math.round((row * height) / ROWS)
  const y1 = Math.round(((row + 1) * height) / ROWS)
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
}

export type DecodeResult =
  | { ok: true, value: number, contrast: number }
  | { ok: false, reason: 'contrast' | 'ambiguous' | 'sync' | 'crc' }

/**
 * Mean luminance of the central half (each way) of every cell of an RGBA picture. The border of
 * each cell is ignored: the encoder smears edges and scaling blurs them.
 */
export function cellLuminance (rgba: ArrayLike<number>, width: number, height: number): Float64Array {
  if (rgba.length < width * height * 4) throw new RangeError('rgba is smaller than width × height × 4')
  const out = new Float64Array(CELLS)
  for (let i = 0; i < CELLS; i++) {
    const r = cellRect(i, width, height)
    const xs = r.x + Math.floor(r.w / 4)
    const xe = r.x + Math.ceil((3 * r.w) / 4)
    const ys = r.y + Math.floor(r.h / 4)
    const ye = r.y + Math.ceil((3 * r.h) / 4)
    let sum = 0
    let n = 0
    for (let y = ys; y < ye; y++) {
      for (let x = xs; x < xe; x++) {
        const p = (y * width + x) * 4
        // Rec. 601 luma, integer weights.
        sum += (299 * (rgba[p] as number) + 587 * (rgba[p + 1] as number) + 114 * (rgba[p + 2] as number)) / 1000
        n++
      }
    }
    out[i] = n === 0 ? NaN : sum / n
  }
  return out
}

/** Reads a timecode from an RGBA picture (e.g. `ImageData.data` of a drawn video frame). */
export function decodeTimecode (rgba: ArrayLike<number>, width: number, height: number): DecodeResult {
  const lum = cellLuminance(rgba, width, height)
  let white = 0
  let black = 0
  let nw = 0
  let nb = 0
  for (const [i, c] of SYNC) {
    const l = lum[i] as number
    if (c === 1) { white += l; nw++ } else { black += l; nb++ }
  }
  white /= nw
  black /= nb
  const contrast = white - black
  if (!(contrast >= MIN_CONTRAST)) return { ok: false, reason: 'contrast' }
  const threshold = (white + black) / 2
  const margin = MARGIN * contrast
  const bits = new Uint8Array(CELLS)
  for (let i = 0; i < CELLS; i++) {
    const l = lum[i] as number
    if (!(Math.abs(l - threshold) >= margin)) return { ok: false, reason: 'ambiguous' }
    bits[i] = l > threshold ? 1 : 0
  }
  for (const [i, c] of SYNC) if (bits[i] !== c) return { ok: false, reason: 'sync' }
  let value = 0
  let crc = 0
  DATA_CELLS.forEach((cell, bit) => {
    if (bit < VALUE_BITS) value = ((value << 1) | (bits[cell] as number)) >>> 0
    else crc = ((crc << 1) | (bits[cell] as number)) & 0xffff
  })
  if (crc16(value) !== crc) return { ok: false, reason: 'crc' }
  return { ok: true, value, contrast }
}

/** The timecode of wall-clock time `ms` (epoch milliseconds): the whole milliseconds mod 2³². */
export function timecodeOf (ms: number): number {
  return Math.floor(ms) % 0x100000000
}

/**
 * Milliseconds from the painted timecode `code` to wall-clock time `nowMs`, unwrapped around
 * 2³² ms (~49.7 days): in (−2³¹, 2³¹]. Negative means the code is from the future (a bug).
 */
export function elapsedSince (code: number, nowMs: number): number {
  let d = (timecodeOf(nowMs) - code) % 0x100000000
  if (d < 0) d += 0x100000000
  if (d > 0x80000000) d -= 0x100000000
  return d + (nowMs - Math.floor(nowMs))
}
