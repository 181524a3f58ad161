/**
 * Bounds-checked binary reader and writer used by every wire codec. Integers are unsigned
 * LEB128 varints up to 2^53; every read checks the remaining length and throws ERR_DECODE.
 * @module
 */
import { MunroError } from './errors.js'

/** Unsigned LEB128 length of `n`. */
export function varintLength (n: number): number {
  let len = 1
  while (n >= 0x80) { n = Math.floor(n / 128); len++ }
  return len
}

/** Grows a byte array as values are written. */
export class Writer {
  private buf: Uint8Array
  private pos = 0

  constructor (size = 64) { this.buf = new Uint8Array(size) }

  private reserve (n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  uint (n: number): this {
    this.reserve(8)
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 128) | 0x80
      n = Math.floor(n / 128)
    }
    this.buf[this.pos++] = n
    return this
  }

  byte (n: number): this {
    this.reserve(1)
    this.buf[this.pos++] = n
    return this
  }

  fixed (bytes: Uint8Array): this {
    this.reserve(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
    return this
  }

  /** Length-prefixed bytes. */
  bytes (bytes: Uint8Array): this { return this.uint(bytes.length).fixed(bytes) }

  string (s: string): this { return this.bytes(new TextEncoder().encode(s)) }

  finish (): Uint8Array { return this.buf.subarray(0, this.pos) }
}

/** Reads values from a byte array, refusing to read past its end. */
export class Reader {
  private pos = 0

  constructor (private readonly buf: Uint8Array) {}

  get remaining (): number { return this.buf.length - this.pos }

  private need (n: number, what: string): void {
    if (this.remaining < n) throw new MunroError('ERR_DECODE', `truncated ${what}`)
  }

  uint (what = 'integer', max = Number.MAX_SAFE_INTEGER): number {
    let n = 0
    let scale = 1
    for (let i = 0; ; i++) {
      this.need(1, what)
      const b = this.buf[this.pos++] as number
      n += (b & 0x7f) * scale
      if ((b & 0x80) === 0) break
      scale *= 128
      if (i >= 7) throw new MunroError('ERR_DECODE', `${what} varint too long`)
    }
    if (n > max) throw new MunroError('ERR_DECODE', `${what} ${n} exceeds ${max}`)
    return n
  }

  byte (what = 'byte'): number {
    this.need(1, what)
    return this.buf[this.pos++] as number
  }

  fixed (n: number, what = 'bytes'): Uint8Array {
    this.need(n, what)
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  bytes (what = 'bytes', max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const len = this.uint(`${what} length`, max)
    return this.fixed(len, what)
  }

  string (what = 'string', max = 256): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(what, max))
    } catch (err) {
      if (err instanceof MunroError) throw err
      throw new MunroError('ERR_DECODE', `${what} is not UTF-8`)
    }
  }

  /** The unread rest of the input. */
  rest (): Uint8Array {
    const out = this.buf.subarray(this.pos)
    this.pos = this.buf.length
    return out
  }

  end (what: string): void {
    if (this.remaining !== 0) throw new MunroError('ERR_DECODE', `${this.remaining} trailing bytes after ${what}`)
  }
}
