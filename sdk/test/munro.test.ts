import { Readable } from 'streamx'
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_BLOCK_SIZE, MAX_FRAME_SIZE, MAX_METADATA_SIZE } from '../src/constants.js'
import { munro, toHex, type MunroEvents } from '../src/index.js'
import { equalBytes } from '../src/merkle-tree.js'
import { generateKeyPair } from '../src/verifier.js'
import {
  appendBlocks, bytes, chunkSizes, connect, createBroadcaster, createReceiver, expectCode, pattern, record, rejection,
  sleep, tcpPair, teardown, text, thrown, until, waitFor
} from './helpers.js'

afterEach(teardown)

async function collect (stream: Readable, count: number): Promise<string[]> {
  const out: string[] = []
  return await new Promise((resolve, reject) => {
    stream.on('data', (b: unknown) => { out.push(text(b as Uint8Array)); if (out.length === count) resolve(out) })
    stream.on('end', () => { resolve(out) })
    stream.on('error', reject)
  })
}

describe('the original README example, over real TCP', () => {
  it('a receiver created from the broadcaster id gets "hello" as block 0 through node:net', async () => {
    const broadcaster = createBroadcaster()
    await broadcaster.append(bytes('hello'))
    await broadcaster.broadcast(bytes('world'))
    const receiver = createReceiver(broadcaster.id)
    await tcpPair(broadcaster, receiver)
    expect(text(await receiver.get(0))).toBe('hello')
    expect(text(await receiver.get(1))).toBe('world')
    expect(receiver.length).toBe(2)
  })

  it('get also takes a Node-style callback', async () => {
    const broadcaster = createBroadcaster()
    await broadcaster.append(bytes('hello'))
    await broadcaster.append(bytes('world'))
    const receiver = createReceiver(broadcaster.key)
    await tcpPair(broadcaster, receiver)
    const [err, data] = await new Promise<[Error | null, Uint8Array | undefined]>((resolve) => {
      receiver.get(0, (e, d) => { resolve([e, d]) })
    })
    expect(err).toBeNull()
    expect(text(data as Uint8Array)).toBe('hello')
    const cbErr = await new Promise<Error | null>((resolve) => { receiver.get(-1, (e) => { resolve(e) }) })
    expect(cbErr).toBeInstanceOf(RangeError)
  })
})

describe('over TCP, frames split and merged by the socket', () => {
  it('a 1 MiB block and a relay over two TCP hops arrive verified', async () => {
    const a = createBroadcaster()
    const relay = createReceiver(a, { start: 0 })
    const r = createReceiver(a, { start: 0 })
    await tcpPair(a, relay)
    await tcpPair(relay, r)
    const block = pattern(1024 * 1024, 9)
    await a.append(block)
    await a.append(bytes('after'))
    expect(equalBytes(await r.get(0), block)).toBe(true)
    expect(text(await r.get(1))).toBe('after')
    expect(r.stats().invalid).toBe(0)
  })
})

describe('munro(): broadcaster or receiver', () => {
  it('munro() is a writable broadcaster with a fresh 32-byte id', () => {
    const a = munro()
    const b = munro()
    expect(a.writable).toBe(true)
    expect(a.id).toHaveLength(32)
    expect(a.key).toBe(toHex(a.id))
    expect(a.key).not.toBe(b.key)
    expect(a.discoveryKey).toHaveLength(32)
    expect(toHex(a.discoveryKey)).not.toBe(a.key)
    void a.destroy(); void b.destroy()
  })

  it('munro(opts.keyPair) broadcasts under the given key; munro(opts) is a broadcaster too', async () => {
    const kp = generateKeyPair()
    const a = createBroadcaster({ keyPair: kp })
    expect(a.key).toBe(toHex(kp.publicKey))
    const b = munro({ keyPair: kp, signEvery: 2 })
    expect(b.writable).toBe(true)
    expect(b.key).toBe(toHex(kp.publicKey))
    await b.destroy()
  })

  it('munro(id) is a read-only receiver, from bytes or hex (either case)', () => {
    const b = createBroadcaster()
    for (const id of [b.id, b.key, b.key.toUpperCase()]) {
      const r = createReceiver(id)
      expect(r.writable).toBe(false)
      expect(r.key).toBe(b.key)
      expect(toHex(r.discoveryKey)).toBe(toHex(b.discoveryKey))
    }
  })

  it('a bad id is a TypeError with code ERR_INVALID_ARGUMENT', () => {
    for (const id of ['abc', 'zz'.repeat(32), new Uint8Array(31), new Uint8Array(33), 42 as unknown as string, true as unknown as string]) {
      const err = thrown(() => munro(id))
      expect(err).toBeInstanceOf(TypeError)
      expect(err.code).toBe('ERR_INVALID_ARGUMENT')
      expect(err.message).toContain('"id"')
    }
  })

  it('bad options are RangeErrors (or TypeErrors) with code ERR_INVALID_ARGUMENT', () => {
    const bad = [{ signEvery: 0 }, { signEvery: 1.5 }, { maxBlocks: 0 }, { maxBytes: 0 }, { liveBacklog: 0 }, { start: -1 }, { start: 'edge' as 'live' }, { expectedBitrate: -1 }, { expectedBitrate: Infinity }, { fullHaveDelay: -1 }, { fullHaveDelay: Infinity }, { rescueDelay: -1 }, { rescueDelay: Infinity }]
    for (const opts of bad) {
      const err = thrown(() => munro(null, opts))
      expect(err).toBeInstanceOf(RangeError)
      expect(err.code).toBe('ERR_INVALID_ARGUMENT')
    }
    const other = generateKeyPair()
    const mismatched = thrown(() => munro(null, { keyPair: { publicKey: other.publicKey, secretKey: generateKeyPair().secretKey } }))
    expect(mismatched).toBeInstanceOf(TypeError)
    expect(mismatched.code).toBe('ERR_INVALID_ARGUMENT')
    const receiverWithKey = thrown(() => munro(other.publicKey, { keyPair: other }))
    expect(receiverWithKey.code).toBe('ERR_INVALID_ARGUMENT')
  })
})

describe('append', () => {
  it('append on a receiver rejects with ERR_NOT_WRITABLE', async () => {
    const r = createReceiver(createBroadcaster())
    expectCode(await rejection(r.append(bytes('x'))), 'ERR_NOT_WRITABLE')
    expectCode(await rejection(r.broadcast(bytes('x'))), 'ERR_NOT_WRITABLE')
    expectCode(thrown(() => r.writeStream()), 'ERR_NOT_WRITABLE')
    expectCode(await rejection(r.setMetadata(bytes('x'))), 'ERR_NOT_WRITABLE')
    expectCode(thrown(() => { r.flush() }), 'ERR_NOT_WRITABLE')
    expect(r.length).toBe(0)
  })

  it('returns consecutive indices and emits append', async () => {
    const b = createBroadcaster()
    const appends = record(b, 'append')
    expect(await appendBlocks(b, 3)).toEqual([0, 1, 2])
    expect(appends).toEqual([{ index: 0, byteLength: 7 }, { index: 1, byteLength: 7 }, { index: 2, byteLength: 7 }])
    expect(b.length).toBe(3)
    expect(text(await b.get(2))).toBe('block 2')
  })

  it('an empty block is a RangeError, a block over 4 MiB is ERR_BLOCK_TOO_LARGE, non-bytes a TypeError', async () => {
    const b = createBroadcaster()
    const empty = await rejection(b.append(new Uint8Array(0)))
    expect(empty).toBeInstanceOf(RangeError)
    expect(empty.code).toBe('ERR_INVALID_ARGUMENT')
    expectCode(await rejection(b.append(new Uint8Array(MAX_BLOCK_SIZE + 1))), 'ERR_BLOCK_TOO_LARGE')
    const notBytes = await rejection(b.append('hello' as unknown as Uint8Array))
    expect(notBytes).toBeInstanceOf(TypeError)
    const badFlags = await rejection(b.append(bytes('x'), { flags: 256 }))
    expect(badFlags).toBeInstanceOf(RangeError)
    expect(b.length).toBe(0)
    expect(await b.append(new Uint8Array(MAX_BLOCK_SIZE))).toBe(0)
  })
})

describe('get', () => {
  it('rejects with ERR_OUT_OF_WINDOW for a discarded index', async () => {
    const b = createBroadcaster({ maxBlocks: 4 })
    await appendBlocks(b, 10)
    expect(b.stats().blocks).toBe(4)
    expect(b.start).toBe(6)
    expectCode(await rejection(b.get(0)), 'ERR_OUT_OF_WINDOW')
    expect(text(await b.get(6))).toBe('block 6')
  })

  it('rejects a bad index with a RangeError', async () => {
    const b = createBroadcaster()
    for (const i of [-1, 1.5, Number.NaN]) {
      const err = await rejection(b.get(i))
      expect(err).toBeInstanceOf(RangeError)
      expect(err.code).toBe('ERR_INVALID_ARGUMENT')
    }
  })

  it('pending gets reject with ERR_DESTROYED on destroy(), and later calls too', async () => {
    const b = createBroadcaster()
    const r = createReceiver(b)
    const pending = r.get(5)
    const pendingOnBroadcaster = b.get(0)
    await r.destroy()
    await b.destroy()
    expectCode(await rejection(pending), 'ERR_DESTROYED')
    expectCode(await rejection(pendingOnBroadcaster), 'ERR_DESTROYED')
    expectCode(await rejection(r.get(0)), 'ERR_DESTROYED')
    expectCode(await rejection(b.append(bytes('x'))), 'ERR_DESTROYED')
    expectCode(thrown(() => r.peerStream()), 'ERR_DESTROYED')
  })

  it('destroy() with a connected peer: the remote sees the peer go, pending gets reject with ERR_DESTROYED, peers is empty', async () => {
    const b = createBroadcaster()
    await b.append(bytes('x'))
    const r = createReceiver(b)
    connect(b, r)
    await until(() => b.peers.length === 1 && r.peers.length === 1)
    const gone = waitFor(b, 'peer-remove')
    const errors = record(b, 'error')
    const pending = r.get(5)
    await r.destroy()
    expectCode(await rejection(pending), 'ERR_DESTROYED')
    expect(r.peers).toEqual([])
    expect((await gone).error).toBeNull()
    expect(b.peers).toEqual([])
    expect(errors).toEqual([])
  })

  it('destroy() lets go of the blocks held; the length stays', async () => {
    const b = createBroadcaster()
    for (let i = 0; i < 3; i++) await b.append(pattern(3000, i))
    expect(b.stats().blocks).toBe(3)
    await b.destroy()
    expect(b.stats()).toMatchObject({ blocks: 0, bytes: 0 })
    expect(b.info(0)).toBeUndefined()
    expect(b.length).toBe(3)
  })

  it('a get for a block not yet appended resolves once it is', async () => {
    const b = createBroadcaster()
    const r = createReceiver(b)
    connect(b, r)
    const later = r.get(2)
    await appendBlocks(b, 3)
    expect(text(await later)).toBe('block 2')
  })
})

describe('readStream and writeStream', () => {
  it('readStream({ live: false, start }) reads from start to the current length and ends', async () => {
    const b = createBroadcaster()
    await appendBlocks(b, 5)
    const r = createReceiver(b, { start: 0 })
    connect(b, r)
    await waitFor(r, 'verified', e => e.index === 4)
    expect(await collect(r.readStream({ live: false, start: 2 }), 99)).toEqual(['block 2', 'block 3', 'block 4'])
  })

  it('a live readStream starts at the live edge and follows new blocks', async () => {
    const b = createBroadcaster()
    await appendBlocks(b, 3)
    const r = createReceiver(b)
    connect(b, r)
    await waitFor(r, 'verified', e => e.index === 2)
    const got = collect(r.readStream(), 3)
    await sleep(20)
    await b.append(bytes('next 3'))
    await b.append(bytes('next 4'))
    expect(await got).toEqual(['block 2', 'next 3', 'next 4'])
  })

  it('readStream({ live: true, start: k }) on a receiver yields k, k+1, … in order, blocks appended later included', async () => {
    const b = createBroadcaster()
    await appendBlocks(b, 5)
    // A receiver joining live starts at block 4; the reader asks for block 2 on.
    const r = createReceiver(b)
    connect(b, r)
    const got = collect(r.readStream({ live: true, start: 2 }), 6)
    await waitFor(r, 'verified', e => e.index === 4)
    await sleep(20)
    for (const i of [5, 6, 7]) await b.append(bytes(`next ${i}`))
    expect(await got).toEqual(['block 2', 'block 3', 'block 4', 'next 5', 'next 6', 'next 7'])
  })

  it('a live readStream ends when the instance is destroyed', async () => {
    const b = createBroadcaster()
    await b.append(bytes('only'))
    const stream = b.readStream()
    const got = collect(stream, 99)
    await sleep(20)
    await b.destroy()
    expect(await got).toEqual(['only'])
  })

  it('writeStream() appends every chunk written to it', async () => {
    const b = createBroadcaster()
    const w = b.writeStream()
    w.write(bytes('one'))
    w.write(bytes('two'))
    w.end(undefined)
    await new Promise<void>((resolve) => { w.on('finish', () => { resolve() }) })
    expect(b.length).toBe(2)
    expect(text(await b.get(1))).toBe('two')
  })
})

describe('events', () => {
  it('verified, peer-add and peer-remove are emitted with their payloads', async () => {
    const b = createBroadcaster()
    const r = createReceiver(b)
    const added = record(r, 'peer-add')
    const removed = record(r, 'peer-remove')
    const verified = record(r, 'verified')
    const link = connect(b, r)
    expect(added).toHaveLength(1)
    await b.append(bytes('x'))
    await waitFor(r, 'verified', e => e.index === 0)
    expect(verified[0]).toMatchObject({ index: 0, byteLength: 1, flags: 0, from: added[0]?.peer.id })
    expect(verified[0]?.latency).toBeTypeOf('number')
    link.destroy()
    await until(() => removed.length === 1)
    expect(removed[0]?.peer.id).toBe(added[0]?.peer.id)
    expect(removed[0]?.error).toBeNull()
  })

  it('head is emitted when the broadcaster signs and when a receiver verifies a newer head', async () => {
    const b = createBroadcaster({ signEvery: 2 })
    const r = createReceiver(b, { start: 0 })
    connect(b, r)
    const signed = record(b, 'head')
    const verified = record(r, 'head')
    await appendBlocks(b, 4)
    await r.get(3)
    expect(signed.map(h => h.length)).toEqual([2, 4])
    await until(() => verified.some(h => h.length === 4))
    expect(verified.map(h => h.length)).toEqual([...verified.map(h => h.length)].sort((x, y) => x - y))
    expect(verified.at(-1)).toEqual(signed.at(-1))
  })

  it('flags are authenticated and delivered with the block', async () => {
    const b = createBroadcaster()
    const r = createReceiver(b, { start: 0 })
    connect(b, r)
    await b.append(bytes('key'), { flags: 3 })
    const e = await waitFor(r, 'verified')
    expect(e.flags).toBe(3)
    expect(r.info(0)).toEqual({ byteLength: 3, flags: 3, complete: true })
  })

  it('a throwing event handler does not break replication; it is reported as an error event', async () => {
    const b = createBroadcaster()
    const r = createReceiver(b, { start: 0 })
    const errors = record(r, 'error')
    r.on('verified', () => { throw new Error('handler bug') })
    const seen: number[] = []
    r.on('verified', (e) => { seen.push(e.index) })
    connect(b, r)
    await appendBlocks(b, 3)
    expect(text(await r.get(2))).toBe('block 2')
    await until(() => seen.length === 3)
    expect(errors.length).toBeGreaterThanOrEqual(3)
    expect(errors[0]?.error.message).toBe('handler bug')
  })

  it('setMetadata replicates, verifies and re-shares through a relay', async () => {
    const b = createBroadcaster()
    const relay = createReceiver(b)
    const r = createReceiver(b)
    connect(b, relay)
    connect(relay, r)
    await b.setMetadata(bytes('codec=vp8'))
    const e = await waitFor(r, 'metadata')
    expect(e).toMatchObject({ seq: 1 })
    expect(text(e.data)).toBe('codec=vp8')
    expect(text(relay.metadata as Uint8Array)).toBe('codec=vp8')
    await b.setMetadata(bytes('codec=vp9'))
    await waitFor(r, 'metadata', m => m.seq === 2)
    expect(text(r.metadata as Uint8Array)).toBe('codec=vp9')
    // A late joiner gets the current metadata in the handshake exchange.
    const late = createReceiver(b)
    connect(relay, late)
    expect(text((await waitFor(late, 'metadata')).data)).toBe('codec=vp9')
    expect((await rejection(b.setMetadata(new Uint8Array(MAX_METADATA_SIZE + 1)))).code).toBe('ERR_INVALID_ARGUMENT')
  })

  it('event payload types are checked', () => {
    const b = createBroadcaster()
    b.on('verified', (e: MunroEvents['verified']) => { expect(e.index).toBeTypeOf('number') })
    // @ts-expect-error not an event of munro
    b.on('no-such-event', () => {})
    // @ts-expect-error the append payload has no data field
    b.on('append', (e) => e.data)
  })
})

describe('peerStream', () => {
  it('every frame written is at most 16 KiB, even with 1 MiB blocks', async () => {
    const b = createBroadcaster()
    const r = createReceiver(b, { start: 0 })
    const sizes: number[] = []
    connect(b, r, { aToB: [chunkSizes(sizes)] })
    const block = pattern(1024 * 1024, 7)
    await b.append(block)
    await b.append(pattern(MAX_FRAME_SIZE, 8))
    expect(equalBytes(await r.get(0), block)).toBe(true)
    expect(equalBytes(await r.get(1), pattern(MAX_FRAME_SIZE, 8))).toBe(true)
    // Carried in many frames, each block once (a block listed by both get() and the eager download
    // was once requested twice).
    expect(sizes.length).toBeGreaterThan(1024 * 1024 / MAX_FRAME_SIZE)
    expect(sizes.reduce((a, n) => a + n, 0)).toBeLessThan(1.05 * (1024 * 1024 + MAX_FRAME_SIZE))
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_FRAME_SIZE)
  })
})
