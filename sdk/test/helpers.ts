/**
 * Shared helpers of the core's test suite: create broadcasters and receivers, connect them in
 * memory (optionally through frame-level transformers: taps, delays, a malicious peer), script a
 * raw remote peer frame by frame, wait for events, a TCP pair, and teardown.
 *
 * Every instance and connection made here is destroyed by {@link teardown}; call it in
 * `afterEach`.
 */
import net from 'node:net'
import { Duplex, Transform } from 'streamx'
import { NONCE_SIZE, PROTOCOL_VERSION } from '../src/constants.js'
import { MunroError } from '../src/errors.js'
import { decodeMessage, type Message, type MessageType } from '../src/messages.js'
import { munro, type Munro, type MunroEvents, type PeerStreamOptions } from '../src/munro.js'
import type { MunroOptions } from '../src/options.js'
import { encodeFrame, FrameDecoder } from '../src/wire.js'

const instances: Munro[] = []
const cleanups: Array<() => void | Promise<void>> = []

/** Destroys every instance, link and server the helpers created. */
export async function teardown (): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn()
  for (const m of instances.splice(0)) await m.destroy()
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
export const text = (b: Uint8Array): string => new TextDecoder().decode(b)
export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** Deterministic pseudo-random bytes (xorshift32), different for each seed. */
export function pattern (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = (seed * 2654435761) >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** A clock that moves only when told: `advance(ms)` runs the timers that fall due. */
export function manualClock (): { clock: { now: () => number, setTimeout: (fn: () => void, ms: number) => unknown, clearTimeout: (h: unknown) => void }, advance: (ms: number) => void } {
  const timers: Array<{ fn: () => void, at: number }> = []
  let now = 0
  const clock = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => { const t = { fn, at: now + ms }; timers.push(t); return t },
    clearTimeout: (h: unknown) => { const i = timers.indexOf(h as { fn: () => void, at: number }); if (i >= 0) timers.splice(i, 1) }
  }
  const advance = (ms: number): void => {
    now += ms
    for (const t of timers.filter(x => x.at <= now)) { timers.splice(timers.indexOf(t), 1); t.fn() }
  }
  return { clock, advance }
}

export function createBroadcaster (opts: Partial<MunroOptions> = {}): Munro {
  const m = munro(null, opts)
  instances.push(m)
  return m
}

/** A receiver of `source`'s stream (a munro instance, or a stream id). */
export function createReceiver (source: Munro | Uint8Array | string, opts: Partial<MunroOptions> = {}): Munro {
  const m = munro(typeof source === 'string' || source instanceof Uint8Array ? source : source.id, opts)
  instances.push(m)
  return m
}

/** Appends `count` blocks, the i-th of this call being `make(i)`. Returns their indices. */
export async function appendBlocks (b: Munro, count: number, make: (i: number) => Uint8Array = i => bytes(`block ${i}`)): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push(await b.append(make(i)))
  return out
}

/** An in-memory connection between two instances. */
export interface Link {
  /** `a`'s peer stream (its end of the connection). */
  a: Duplex
  b: Duplex
  /** Cuts the connection: both ends see their peer go. */
  destroy: () => void
}

export interface LinkOptions {
  /** Transformers the bytes from `a` to `b` pass through, in order. */
  aToB?: Transform[]
  bToA?: Transform[]
}

/** Pipes `a.peerStream()` and `b.peerStream()` into each other in memory. */
export function connect (a: Munro, b: Munro, opts: LinkOptions = {}): Link {
  const sa = a.peerStream()
  const sb = b.peerStream()
  const chain = (from: Duplex, through: Transform[], to: Duplex): void => {
    let s: Duplex = from
    for (const t of through) s = s.pipe(t)
    s.pipe(to)
  }
  chain(sa, opts.aToB ?? [], sb)
  chain(sb, opts.bToA ?? [], sa)
  const destroy = (): void => {
    for (const s of [sa, sb, ...(opts.aToB ?? []), ...(opts.bToA ?? [])]) s.destroy()
  }
  cleanups.push(destroy)
  return { a: sa, b: sb, destroy }
}

/**
 * A transformer that decodes every frame passing through, lets `fn` see (and replace) the
 * message, and re-encodes it. `fn` returns undefined to pass the message on unchanged, a
 * message or list of messages to send instead, or null to drop it. This is how the tests build
 * a malicious peer out of an honest one.
 */
export function frameTransform (fn: (m: Message) => Message | Message[] | null | undefined): Transform {
  const decoder = new FrameDecoder()
  const t: Transform = new Transform({
    transform (chunk: unknown, cb: (err: Error | null, data?: Uint8Array) => void) {
      try {
        for (const body of decoder.push(chunk as Uint8Array)) {
          const m = decodeMessage(body)
          const out = fn(m)
          if (out === undefined) t.push(encodeFrame(m))
          else if (out !== null) for (const x of Array.isArray(out) ? out : [out]) t.push(encodeFrame(x))
        }
        cb(null)
      } catch (err) { cb(err as Error) }
    }
  })
  quiet(t)
  return t
}

/** Transformers are torn down with their link; an error then is not the test's business. */
function quiet<S extends Transform> (s: S): S { s.on('error', () => {}); return s }

/** A transformer that calls `fn` on every message passing through, unchanged. */
export const tap = (fn: (m: Message) => void): Transform => frameTransform(m => { fn(m); return undefined })

/** A transformer that holds every chunk `ms` milliseconds (one after the other): a slow link. */
export function delay (ms: number): Transform {
  return quiet(new Transform({
    transform (chunk: Uint8Array, cb: (err: Error | null, data?: Uint8Array) => void) { setTimeout(() => { cb(null, chunk) }, ms) }
  }))
}

/** A transformer that records the size of every chunk (each chunk a peer stream writes is one frame). */
export function chunkSizes (sizes: number[]): Transform {
  return quiet(new Transform({
    transform (chunk: Uint8Array, cb: (err: Error | null, data?: Uint8Array) => void) { sizes.push(chunk.length); cb(null, chunk) }
  }))
}

/** Resolves with the next `type` event of `m` that satisfies `pred`; rejects after `timeout` ms. */
export function waitFor<K extends keyof MunroEvents> (
  m: Munro, type: K, pred: (e: MunroEvents[K]) => boolean = () => true, timeout = 5000
): Promise<MunroEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { m.off(type, on); reject(new Error(`timed out waiting for "${String(type)}"`)) }, timeout)
    const on = (e: MunroEvents[K]): void => {
      if (!pred(e)) return
      clearTimeout(timer)
      m.off(type, on)
      resolve(e)
    }
    m.on(type, on)
  })
}

/** Collects every `type` event of `m` into an array. */
export function record<K extends keyof MunroEvents> (m: Munro, type: K): Array<MunroEvents[K]> {
  const out: Array<MunroEvents[K]> = []
  m.on(type, (e) => { out.push(e) })
  return out
}

/** Polls `cond` every 5 ms until it holds; rejects after `timeout` ms. */
export async function until (cond: () => boolean, timeout = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeout
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection (p: Promise<unknown>): Promise<Error & { code?: string }> {
  try { await p } catch (err) { return err as Error & { code?: string } }
  throw new Error('expected a rejection')
}

/** The error a function throws; fails if it returns. */
export function thrown (fn: () => unknown): Error & { code?: string } {
  try { fn() } catch (err) { return err as Error & { code?: string } }
  throw new Error('expected a throw')
}

/** A remote peer scripted frame by frame, connected to one end: `target.peerStream()`. */
export interface RawRemote {
  stream: Duplex
  /** Every message `target` sent us, in order. */
  received: Message[]
  send: (m: Message) => void
  sendBytes: (b: Uint8Array) => void
  /** The handshake `target` expects (right discovery key, empty window), or with overrides. */
  handshake: (over?: Partial<Extract<Message, { type: 'handshake' }>>) => void
  /** Resolves with the next (or an already received, not yet taken) message of `type` matching `pred`. */
  next: <T extends MessageType>(type: T, pred?: (m: Extract<Message, { type: T }>) => boolean, timeout?: number) => Promise<Extract<Message, { type: T }>>
}

export function rawRemote (target: Munro, options: PeerStreamOptions = {}): RawRemote {
  const stream = target.peerStream(options)
  const decoder = new FrameDecoder()
  const received: Message[] = []
  let taken = 0
  const waiters = new Set<() => void>()
  stream.on('data', (chunk: unknown) => {
    for (const body of decoder.push(chunk as Uint8Array)) received.push(decodeMessage(body))
    for (const w of [...waiters]) w()
  })
  cleanups.push(() => { stream.destroy() })
  const remote: RawRemote = {
    stream,
    received,
    send: (m) => { stream.write(encodeFrame(m)) },
    sendBytes: (b) => { stream.write(b) },
    handshake: (over = {}) => {
      remote.send({ type: 'handshake', protocol: 'munro', version: PROTOCOL_VERSION, discoveryKey: target.discoveryKey, windowStart: 0, length: 0, source: false, nonce: new Uint8Array(NONCE_SIZE), ...over })
    },
    next: (type, pred = () => true, timeout = 3000) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        for (let i = taken; i < received.length; i++) {
          const m = received[i] as Message
          if (m.type === type && pred(m as never)) { taken = i + 1; resolve(m as never); return true }
        }
        return false
      }
      if (check()) return
      const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`timed out waiting for a ${type} message`)) }, timeout)
      const w = (): void => { if (check()) { clearTimeout(timer); waiters.delete(w) } }
      waiters.add(w)
    })
  }
  return remote
}

/** Connects `client` to `server` over real TCP on 127.0.0.1 (port 0), as the README does. */
export async function tcpPair (server: Munro, client: Munro): Promise<{ port: number, socket: net.Socket }> {
  const srv = net.createServer((socket) => { socket.pipe(server.peerStream()).pipe(socket) })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const { port } = srv.address() as net.AddressInfo
  const socket = net.connect(port, '127.0.0.1')
  socket.pipe(client.peerStream()).pipe(socket)
  cleanups.push(() => new Promise<void>((resolve) => { socket.destroy(); srv.close(() => { resolve() }) }))
  return { port, socket }
}

/** Asserts `err` is a MunroError with `code` (returns it typed). */
export function expectCode (err: unknown, code: string): MunroError {
  if (!(err instanceof MunroError)) throw new Error(`expected a MunroError ${code}, got ${String(err)}`)
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`)
  return err
}

/** Flips one bit of a copy of `b`. */
export function flipBit (b: Uint8Array, bit = 0): Uint8Array {
  const out = b.slice()
  const i = Math.floor(bit / 8) % out.length
  out[i] = (out[i] as number) ^ (1 << (bit % 8))
  return out
}
