import { afterEach, describe, expect, it } from 'vitest'
import { blockHash, headSignable } from '../src/caps.js'
import { systemClock } from '../src/clock.js'
import { MAX_FRAME_SIZE, NONCE_SIZE, PIECE_SIZE, PROTOCOL_VERSION, SOURCE_PROOF_TIMEOUT_MS } from '../src/constants.js'
import { MunroError } from '../src/errors.js'
import { BlockLog } from '../src/log.js'
import { equalBytes, PieceTree } from '../src/merkle-tree.js'
import { encodeMessage, type Data, type Message } from '../src/messages.js'
import type { Munro } from '../src/munro.js'
import type { MunroOptions } from '../src/options.js'
import { generateKeyPair, sign, SignatureCache, signSource, verifySource, type SignedHead } from '../src/verifier.js'
import {
  bytes, connect, createBroadcaster, createReceiver, flipBit, frameTransform, manualClock, pattern, rawRemote, record, sleep, tap,
  teardown, text, until, waitFor
} from './helpers.js'

afterEach(teardown)

/** A clock whose `now` is fixed, so that two broadcasters of the same data sign identical heads but for the key. */
const fixedClock = { ...systemClock, now: () => 1_700_000_000_000 }

interface Attack {
  blocks: Uint8Array[]
  /** Turns the honest broadcaster's frames to the victim into the attacker's. */
  mutate: (m: Message) => Message | Message[] | null | undefined
  code: string
  /** Block the victim asks for. @default the last one */
  index?: number
  /** Whether the victim may keep the (honest, verified) header of the block. @default false */
  headerKept?: boolean
  broadcaster?: Munro
  victimOpts?: Partial<MunroOptions>
}

/**
 * The victim asks for a block through a malicious link: it must reject what it got with an
 * `invalid` event of the expected code, drop that peer, store nothing unverified, and then fetch
 * the honest block from another peer.
 */
async function expectRejected (attack: Attack): Promise<void> {
  const a = attack.broadcaster ?? createBroadcaster()
  if (attack.broadcaster === undefined) for (const b of attack.blocks) await a.append(b)
  const index = attack.index ?? attack.blocks.length - 1
  const v = createReceiver(a, { start: 0, ...attack.victimOpts })
  const invalid = waitFor(v, 'invalid')
  const removed = waitFor(v, 'peer-remove')
  const pending = v.get(index)
  const added = record(v, 'peer-add')
  connect(a, v, { aToB: [frameTransform(attack.mutate)] })
  const e = await invalid
  expect(e.peer.id).toBe(added[0]?.peer.id)
  expect(e.peer.stats.invalid).toBe(1)
  expect(e.error).toBeInstanceOf(MunroError)
  expect(e.error.code).toBe(attack.code)
  expect((await removed).error).toBe(e.error)
  expect(v.peers).toHaveLength(0)
  expect(v.stats().invalid).toBe(1)
  const info = v.info(index)
  if (attack.headerKept === true) expect(info?.complete).not.toBe(true)
  else expect(info).toBeUndefined()
  // An honest peer appears: the block is fetched from it, exactly as the broadcaster made it.
  const honest = createReceiver(a, { start: 0 })
  connect(a, honest)
  await honest.get(index)
  connect(honest, v)
  expect(equalBytes(await pending, attack.blocks[index] as Uint8Array)).toBe(true)
  expect(v.stats().invalid).toBe(1)
}

const large = pattern(5 * PIECE_SIZE + 100, 11)

describe('tampered data is rejected, the peer dropped, nothing stored', () => {
  it('a piece with one flipped bit fails with ERR_INVALID_PIECE', async () => {
    await expectRejected({
      blocks: [bytes('a'), large],
      mutate: m => m.type === 'piece' && m.piece === 2 ? { ...m, data: flipBit(m.data, 77) } : undefined,
      code: 'ERR_INVALID_PIECE',
      headerKept: true
    })
  })

  it('a single-piece block with a flipped bit fails with ERR_INVALID_PIECE', async () => {
    await expectRejected({
      blocks: [bytes('hello'), bytes('world')],
      mutate: m => m.type === 'piece' ? { ...m, data: flipBit(m.data, 3) } : undefined,
      code: 'ERR_INVALID_PIECE',
      headerKept: true
    })
  })

  it('a piece of the wrong length fails with ERR_INVALID_PIECE', async () => {
    await expectRejected({
      blocks: [large],
      mutate: m => m.type === 'piece' && m.piece === 5 ? { ...m, data: m.data.subarray(1) } : undefined,
      code: 'ERR_INVALID_PIECE',
      headerKept: true
    })
  })

  it('a tampered piece-tree uncle fails with ERR_INVALID_PIECE', async () => {
    await expectRejected({
      blocks: [large],
      mutate: m => m.type === 'piece' && m.uncles.length > 0
        ? { ...m, uncles: m.uncles.map((u, i) => i === 0 ? { index: u.index, hash: flipBit(u.hash, 200) } : u) }
        : undefined,
      code: 'ERR_INVALID_PIECE',
      headerKept: true
    })
  })

  it('a tampered log-tree uncle fails with ERR_INVALID_SIGNATURE (the roots no longer match the signed head)', async () => {
    let tampered = 0
    await expectRejected({
      blocks: [bytes('a'), bytes('b'), bytes('c')],
      index: 0,
      victimOpts: { start: 'live' },
      mutate: (m) => {
        if (m.type !== 'data' || m.nodes.length === 0) return undefined
        tampered++
        return { ...m, nodes: m.nodes.map((n, i) => i === 0 ? { index: n.index, hash: flipBit(n.hash, 9) } : n) }
      },
      code: 'ERR_INVALID_SIGNATURE'
    })
    expect(tampered).toBeGreaterThan(0)
  })

  it('a header that contradicts a log-tree node the victim already verified fails with ERR_INVALID_PROOF', async () => {
    // The victim verifies block 3 first (newest first), which gives it block 2's hash as an
    // uncle; block 2 then comes with no head and an empty proof, checked against that held
    // node. The attacker changes block 2's piece root.
    const a = createBroadcaster()
    const blocks = [bytes('a'), bytes('b'), bytes('c'), bytes('d')]
    for (const b of blocks) await a.append(b)
    const v = createReceiver(a, { start: 2 })
    const invalid = waitFor(v, 'invalid')
    const pending = v.get(2)
    let headless: Data | null = null
    connect(a, v, {
      aToB: [frameTransform((m) => {
        if (m.type !== 'data' || m.index !== 2) return undefined
        headless = m
        return { ...m, pieceRoot: flipBit(m.pieceRoot, 3) }
      })]
    })
    const e = await invalid
    // Sent without a head, the header is checked against the held node (ERR_INVALID_PROOF); a
    // sender that attached a head anyway gets the signature check first.
    const sent = headless as Data | null
    expect(sent).not.toBeNull()
    expect(e.error.code).toBe(sent?.head === null ? 'ERR_INVALID_PROOF' : 'ERR_INVALID_SIGNATURE')
    expect(v.info(2)).toBeUndefined()
    expect(v.info(3)?.complete).toBe(true)
    connect(a, v)
    expect(text(await pending)).toBe('c')
  })

  it('a tampered piece root fails with ERR_INVALID_SIGNATURE (the block hash binds it)', async () => {
    await expectRejected({
      blocks: [bytes('a'), large],
      mutate: m => m.type === 'data' ? { ...m, pieceRoot: flipBit(m.pieceRoot, 100) } : undefined,
      code: 'ERR_INVALID_SIGNATURE'
    })
  })

  it('a tampered byte length or flags byte fails with ERR_INVALID_SIGNATURE', async () => {
    await expectRejected({
      blocks: [bytes('hello')],
      mutate: m => m.type === 'data' ? { ...m, byteLength: 4 } : undefined,
      code: 'ERR_INVALID_SIGNATURE'
    })
    await expectRejected({
      blocks: [bytes('hello')],
      mutate: m => m.type === 'data' ? { ...m, flags: 1 } : undefined,
      code: 'ERR_INVALID_SIGNATURE'
    })
  })

  it('a relay that tampers a piece never passes it on: a peer downstream of the victim gets the honest block', async () => {
    const a = createBroadcaster()
    await a.append(large)
    const v = createReceiver(a, { start: 0 })
    const w = createReceiver(a, { start: 0 })
    const toW: Array<{ k: number, data: Uint8Array }> = []
    connect(v, w, { aToB: [tap(m => { if (m.type === 'piece') toW.push({ k: m.piece, data: m.data }) })] })
    const invalid = waitFor(v, 'invalid')
    connect(a, v, { aToB: [frameTransform(m => m.type === 'piece' && m.piece === 0 ? { ...m, data: flipBit(m.data, 5) } : undefined)] })
    expect((await invalid).error.code).toBe('ERR_INVALID_PIECE')
    connect(a, v)
    expect(equalBytes(await w.get(0), large)).toBe(true)
    expect(toW.length).toBeGreaterThanOrEqual(6)
    for (const { k, data } of toW) expect(equalBytes(data, large.subarray(k * PIECE_SIZE, (k + 1) * PIECE_SIZE))).toBe(true)
    expect(w.stats().invalid).toBe(0)
  })
})

describe('nothing unverified is announced', () => {
  it('a relay that gets a tampered header sends no HAVE for that block, and the peer behind it never verifies it', async () => {
    const a = createBroadcaster()
    for (const b of [bytes('a'), bytes('b'), bytes('c')]) await a.append(b)
    const v = createReceiver(a, { start: 0 })
    const w = createReceiver(a, { start: 0 })
    // Every frame v sends w, decoded off the wire.
    const toW: Message[] = []
    connect(v, w, { aToB: [tap(m => { toW.push(m) })] })
    const verifiedByW = record(w, 'verified')
    const invalid = waitFor(v, 'invalid')
    // Newest first: v verifies blocks 2 and 1, then gets block 0 with a changed piece root.
    connect(a, v, { aToB: [frameTransform(m => m.type === 'data' && m.index === 0 ? { ...m, pieceRoot: flipBit(m.pieceRoot, 1) } : undefined)] })
    expect(['ERR_INVALID_SIGNATURE', 'ERR_INVALID_PROOF']).toContain((await invalid).error.code)
    expect(v.info(0)).toBeUndefined()
    await until(() => verifiedByW.length === 2)
    await sleep(20)
    const haves = toW.filter((m): m is Extract<Message, { type: 'have' }> => m.type === 'have')
    expect(haves.some(h => h.start <= 2 && h.start + h.count > 2)).toBe(true)
    expect(haves.filter(h => h.start <= 0 && h.start + h.count > 0)).toEqual([])
    expect(toW.filter(m => (m.type === 'data' || m.type === 'piece') && m.index === 0)).toEqual([])
    expect(verifiedByW.map(e => e.index).sort()).toEqual([1, 2])
    expect(w.info(0)).toBeUndefined()
    expect(w.stats().invalid).toBe(0)
  })
})

/** The head a broadcaster of `blocks` (default flags, fixed clock) signs with `secretKey` for `length` blocks, binding `streamKey`. */
function headOver (blocks: Uint8Array[], length: number, streamKey: Uint8Array, secretKey: Uint8Array): SignedHead {
  const log = new BlockLog(streamKey, new SignatureCache(), { maxBlocks: 1e6, maxBytes: 1e12 })
  for (const b of blocks.slice(0, length)) log.append(b, 0, 0)
  const roots = log.tree.roots(length) as Uint8Array[]
  const timestamp = fixedClock.now()
  return { length, timestamp, signature: sign(headSignable(streamKey, length, timestamp, roots), secretKey) }
}

describe('incomplete proofs', () => {
  it('a DATA whose proof lacks a node is asked again with fullProof and then verifies', async () => {
    const a = createBroadcaster()
    for (const b of [bytes('a'), bytes('b'), bytes('c')]) await a.append(b)
    const v = createReceiver(a)
    const requests: boolean[] = []
    let stripped = 0
    connect(a, v, {
      aToB: [frameTransform((m) => {
        if (m.type !== 'data' || m.nodes.length === 0 || stripped > 0) return undefined
        stripped++
        return { ...m, nodes: [] }
      })],
      bToA: [tap((m) => { if (m.type === 'request') requests.push(m.fullProof) })]
    })
    expect(text(await v.get(0))).toBe('a')
    expect(stripped).toBe(1)
    expect(requests).toContain(true)
    expect(v.stats().invalid).toBe(0)
  })

  it('a self-contained (fullProof) answer that still lacks a node is ERR_INVALID_PROOF', async () => {
    await expectRejected({
      blocks: [bytes('a'), bytes('b'), bytes('c')],
      index: 0,
      mutate: m => m.type === 'data' && m.nodes.length > 0 ? { ...m, nodes: [] } : undefined,
      code: 'ERR_INVALID_PROOF'
    })
  })
})

describe('tampered metadata', () => {
  it('metadata with a bad signature fails with ERR_INVALID_METADATA and is not kept or re-shared', async () => {
    const a = createBroadcaster()
    await a.append(bytes('x'))
    const v = createReceiver(a, { start: 0 })
    const w = createReceiver(a, { start: 0 })
    connect(v, w)
    const invalid = waitFor(v, 'invalid')
    connect(a, v, { aToB: [frameTransform(m => m.type === 'metadata' ? { ...m, data: bytes('evil') } : undefined)] })
    await a.setMetadata(bytes('good'))
    expect((await invalid).error.code).toBe('ERR_INVALID_METADATA')
    expect(v.metadata).toBeNull()
    await sleep(10)
    expect(w.metadata).toBeNull()
    connect(a, v)
    await waitFor(w, 'metadata')
    expect(text(w.metadata as Uint8Array)).toBe('good')
  })
})

describe('forged and replayed signed heads are rejected', () => {
  const blocks = [bytes('one'), bytes('two'), bytes('three')]

  it('a head signed with another key (over the right roots) fails with ERR_INVALID_SIGNATURE', async () => {
    const attacker = generateKeyPair()
    const a = createBroadcaster({ clock: fixedClock })
    for (const b of blocks) await a.append(b)
    await expectRejected({
      broadcaster: a,
      blocks,
      mutate: m => m.type === 'data' && m.head !== null
        ? { ...m, head: headOver(blocks, m.head.length, a.id, attacker.secretKey) }
        : undefined,
      code: 'ERR_INVALID_SIGNATURE'
    })
  })

  it("a valid signature replayed for another length fails with ERR_INVALID_SIGNATURE", async () => {
    const a = createBroadcaster()
    const heads: SignedHead[] = []
    for (const b of blocks) await a.append(b)
    // Capture the real heads an honest receiver gets, then replay the length-1 one's signature at length 3.
    const spy = createReceiver(a, { start: 0 })
    connect(a, spy, { aToB: [tap(m => { if (m.type === 'data' && m.head !== null) heads.push(m.head) })] })
    await spy.get(2)
    const kp = generateKeyPair()
    const a1 = createBroadcaster({ keyPair: kp })
    await a1.append(blocks[0] as Uint8Array)
    const spy1 = createReceiver(a1, { start: 0 })
    const first: SignedHead[] = []
    connect(a1, spy1, { aToB: [tap(m => { if (m.type === 'data' && m.head !== null) first.push(m.head) })] })
    await spy1.get(0)
    const old = first[0] as SignedHead
    expect(old.length).toBe(1)
    await a1.append(blocks[1] as Uint8Array)
    await a1.append(blocks[2] as Uint8Array)
    await expectRejected({
      broadcaster: a1,
      blocks,
      mutate: m => m.type === 'data' && m.head !== null ? { ...m, head: { ...old, length: m.head.length } } : undefined,
      code: 'ERR_INVALID_SIGNATURE'
    })
  })

  it('an older valid head that does not cover the block fails with ERR_INVALID_PROOF', async () => {
    const a = createBroadcaster()
    await a.append(blocks[0] as Uint8Array)
    const spy = createReceiver(a, { start: 0 })
    const seen: SignedHead[] = []
    connect(a, spy, { aToB: [tap(m => { if (m.type === 'data' && m.head !== null) seen.push(m.head) })] })
    await spy.get(0)
    const old = seen[0] as SignedHead
    await a.append(blocks[1] as Uint8Array)
    await a.append(blocks[2] as Uint8Array)
    await expectRejected({
      broadcaster: a,
      blocks,
      index: 2,
      mutate: m => m.type === 'data' && m.index === 2 ? { ...m, head: old } : undefined,
      code: 'ERR_INVALID_PROOF'
    })
  })

  it('a head of another stream (same blocks, same time, other key) fails with ERR_INVALID_SIGNATURE', async () => {
    const a = createBroadcaster({ clock: fixedClock })
    const y = createBroadcaster({ clock: fixedClock })
    for (const b of blocks) { await a.append(b); await y.append(b) }
    // Y's genuine heads, as its own receivers get them.
    const yHeads = new Map<number, SignedHead>()
    const ry = createReceiver(y, { start: 0 })
    connect(y, ry, { aToB: [tap(m => { if (m.type === 'data' && m.head !== null) yHeads.set(m.head.length, m.head) })] })
    await ry.get(2)
    expect(yHeads.has(3)).toBe(true)
    await expectRejected({
      broadcaster: a,
      blocks,
      mutate: (m) => {
        if (m.type !== 'data' || m.head === null) return undefined
        const yh = yHeads.get(m.head.length) as SignedHead
        expect(yh.timestamp).toBe(m.head.timestamp)
        return { ...m, head: yh }
      },
      code: 'ERR_INVALID_SIGNATURE'
    })
  })
})

describe('a receiver cannot append', () => {
  it("a peer that invents a block past the broadcaster's head (signing with its own key) is rejected", async () => {
    const a = createBroadcaster()
    await a.append(bytes('real'))
    const v = createReceiver(a, { start: 0 })
    const fake = rawRemote(v)
    fake.handshake({ length: 1 })
    fake.send({ type: 'have', start: 0, count: 2, headLength: 2 })
    const invalid = waitFor(v, 'invalid')
    const pending = v.get(1)
    const req = await fake.next('request', r => r.index === 1)
    // A receiver holds no secret key: the best it can do is sign a head itself.
    const mine = generateKeyPair()
    const data = bytes('injected')
    const tree = PieceTree.fromData(data)
    const log = new BlockLog(a.id, new SignatureCache(), { maxBlocks: 10, maxBytes: 1e6 })
    log.append(bytes('real'), 0, 0)
    log.append(data, 0, 0)
    const roots = log.tree.roots(2) as Uint8Array[]
    const head = { length: 2, timestamp: Date.now(), signature: sign(headSignable(a.id, 2, Date.now(), roots), mine.secretKey) }
    const dataMsg: Data = {
      type: 'data', index: req.index, byteLength: data.length, flags: 0, pieceRoot: tree.root, head,
      nodes: [{ index: 0, hash: blockHash(4, 0, PieceTree.fromData(bytes('real')).root) }]
    }
    fake.send(dataMsg)
    fake.send({ type: 'piece', index: 1, piece: 0, uncles: [], data })
    expect((await invalid).error.code).toBe('ERR_INVALID_SIGNATURE')
    expect(v.info(1)).toBeUndefined()
    expect(v.length).toBe(0)
    // The block does not exist: the honest broadcaster's appends are what v gets as block 1.
    connect(a, v)
    await a.append(bytes('honest 1'))
    expect(text(await pending)).toBe('honest 1')
  })

  it('append on a receiver is ERR_NOT_WRITABLE and sends nothing', async () => {
    const a = createBroadcaster()
    const r = createReceiver(a)
    const sent: Message[] = []
    connect(r, a, { aToB: [tap(m => { sent.push(m) })] })
    await expect(r.append(bytes('x'))).rejects.toMatchObject({ code: 'ERR_NOT_WRITABLE' })
    await sleep(10)
    expect(sent.map(m => m.type).filter(t => t === 'data' || t === 'have')).toEqual([])
  })
})

describe('the source flag is proven, not claimed', () => {
  /** The SOURCE_PROOF the broadcaster `a` answers a raw remote's handshake with `nonce` with. */
  async function proofFrom (a: Munro, nonce: Uint8Array, channelBinding?: Uint8Array): Promise<Uint8Array> {
    const r = rawRemote(a, channelBinding === undefined ? {} : { channelBinding })
    r.handshake({ nonce })
    return (await r.next('source-proof')).signature
  }

  /** Resolves once `remote`'s earlier messages reached the receiver (a ping answered). */
  async function settled (remote: ReturnType<typeof rawRemote>): Promise<void> {
    remote.send({ type: 'ping', nonce: 77 })
    await remote.next('pong', m => m.nonce === 77)
  }

  it('the broadcaster signs each connection\'s nonce; its receivers see it as the source, not each other', async () => {
    const a = createBroadcaster()
    const nonce = new Uint8Array(NONCE_SIZE).fill(5)
    const signature = await proofFrom(a, nonce)
    expect(() => { verifySource(a.id, nonce, new Uint8Array(0), signature) }).not.toThrow()
    expect(equalBytes(await proofFrom(a, new Uint8Array(NONCE_SIZE).fill(6)), signature)).toBe(false)
    const r1 = createReceiver(a)
    const r2 = createReceiver(a)
    connect(a, r1)
    connect(r1, r2)
    await until(() => r1.peers.length === 2 && r1.peers.some(p => p.source))
    expect(r1.peers.filter(p => p.source)).toHaveLength(1)
    await until(() => r2.peers.length === 1)
    await sleep(20)
    expect(r2.peers[0]?.source).toBe(false)
  })

  it('a peer that claims to be the source and sends no proof is dropped with ERR_PROTOCOL after SOURCE_PROOF_TIMEOUT_MS; the broadcaster is not', async () => {
    const a = createBroadcaster()
    const { clock, advance } = manualClock()
    const r = createReceiver(a, { clock })
    connect(a, r)
    const liar = rawRemote(r)
    const removed = waitFor(r, 'peer-remove')
    liar.handshake({ source: true })
    await settled(liar)
    await until(() => r.peers.length === 2 && r.peers.some(p => p.source))
    expect(r.peers.filter(p => p.source)).toHaveLength(1) // the broadcaster; the liar's claim is unproven
    advance(SOURCE_PROOF_TIMEOUT_MS - 1)
    await settled(liar)
    expect(r.peers).toHaveLength(2)
    advance(1)
    expect(((await removed).error as MunroError).code).toBe('ERR_PROTOCOL')
    expect(r.peers.map(p => p.source)).toEqual([true])
  })

  it('a proof replayed from another connection, or signed with another key, drops the peer with ERR_INVALID_SIGNATURE', async () => {
    const a = createBroadcaster()
    const replayed = await proofFrom(a, new Uint8Array(NONCE_SIZE).fill(1))
    const forged = (nonce: Uint8Array): Uint8Array => signSource(a.id, generateKeyPair().secretKey, nonce, new Uint8Array(0))
    for (const proof of [() => replayed, forged]) {
      const r = createReceiver(a)
      const liar = rawRemote(r)
      const invalid = waitFor(r, 'invalid')
      liar.handshake({ source: true })
      const theirs = await liar.next('handshake')
      liar.send({ type: 'source-proof', signature: proof(theirs.nonce) })
      expect((await invalid).error.code).toBe('ERR_INVALID_SIGNATURE')
      await until(() => r.peers.length === 0)
    }
  })

  it('a peer connected to the broadcaster cannot relay its proof: the proof signs that connection\'s channel binding', async () => {
    // The liar passes the victim's nonce on in its own handshake to the broadcaster and hands the
    // answer to the victim. Each connection has its own binding (WebRTC: its DTLS fingerprints).
    const a = createBroadcaster()
    const relay = async (liarToBroadcaster: Uint8Array, victimToLiar: Uint8Array): Promise<boolean> => {
      const victim = createReceiver(a)
      const liar = rawRemote(victim, { channelBinding: victimToLiar })
      liar.handshake({ source: true })
      const theirs = await liar.next('handshake')
      const invalid = waitFor(victim, 'invalid')
      liar.send({ type: 'source-proof', signature: await proofFrom(a, theirs.nonce, liarToBroadcaster) })
      const outcome = await Promise.race([invalid.then(() => false), settled(liar).then(() => victim.peers[0]?.source === true)])
      return outcome
    }
    expect(await relay(bytes('fingerprints of broadcaster–liar'), bytes('fingerprints of liar–victim'))).toBe(false)
    // The same bytes on both connections (which two WebRTC connections never have) would pass.
    expect(await relay(bytes('same'), bytes('same'))).toBe(true)
  })

  it('a source proof without the claim, or a second one, is ERR_PROTOCOL', async () => {
    const keyPair = generateKeyPair()
    const a = createBroadcaster({ keyPair })
    for (const claim of [false, true]) {
      const r = createReceiver(a)
      const remote = rawRemote(r)
      const removed = waitFor(r, 'peer-remove')
      remote.handshake({ source: claim })
      const theirs = await remote.next('handshake')
      const proof = signSource(a.id, keyPair.secretKey, theirs.nonce, new Uint8Array(0))
      remote.send({ type: 'source-proof', signature: proof })
      if (claim) {
        // The genuine key's proof makes it the source; a second proof is one too many.
        await settled(remote)
        expect(r.peers[0]?.source).toBe(true)
        remote.send({ type: 'source-proof', signature: proof })
      }
      expect(((await removed).error as MunroError).code).toBe('ERR_PROTOCOL')
    }
  })
})

describe('lying announcements', () => {
  it('a HAVE far past the live edge does not stall or exhaust the receiver', async () => {
    const a = createBroadcaster()
    await a.append(bytes('x'))
    const r = createReceiver(a, { start: 0 })
    const liar = rawRemote(r)
    liar.handshake()
    liar.send({ type: 'have', start: 2 ** 40, count: 2 ** 32, headLength: 2 ** 40 + 2 ** 32 })
    connect(a, r)
    expect(text(await r.get(0))).toBe('x')
    // The lie is asked of the liar only (nobody else announced it), once, within the window.
    await sleep(20)
    const asked = liar.received.filter(m => m.type === 'request')
    expect(asked.length).toBeLessThanOrEqual(16)
  })
})

describe('malformed wire input ends the connection with a typed error', () => {
  async function expectDropped (setup: (remote: ReturnType<typeof rawRemote>) => void, code: string): Promise<void> {
    const a = createBroadcaster()
    await a.append(bytes('x'))
    const remote = rawRemote(a)
    const removed = waitFor(a, 'peer-remove')
    const errors = record(a, 'error')
    setup(remote)
    const e = await removed
    expect(e.error).toBeInstanceOf(MunroError)
    expect((e.error as MunroError).code).toBe(code)
    expect(a.peers).toHaveLength(0)
    expect(errors).toEqual([])
    // The broadcaster still works for everyone else.
    const r = createReceiver(a, { start: 0 })
    connect(a, r)
    expect(text(await r.get(0))).toBe('x')
  }

  it('a frame over 16 KiB is refused with ERR_FRAME_TOO_LARGE as soon as its length prefix arrives', async () => {
    // varint(16384) = 0x80 0x80 0x01: the frame would be 16,387 bytes.
    await expectDropped(r => { r.handshake(); r.sendBytes(Uint8Array.of(0x80, 0x80, 0x01)) }, 'ERR_FRAME_TOO_LARGE')
  })

  it('a whole oversized frame is refused with ERR_FRAME_TOO_LARGE', async () => {
    const body = new Uint8Array(MAX_FRAME_SIZE)
    body[0] = 5
    await expectDropped(r => { r.handshake(); r.sendBytes(Uint8Array.of(0x80, 0x80, 0x01)); r.sendBytes(body) }, 'ERR_FRAME_TOO_LARGE')
  })

  it('a length prefix longer than 3 bytes is refused with ERR_FRAME_TOO_LARGE', async () => {
    await expectDropped(r => { r.sendBytes(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x01)) }, 'ERR_FRAME_TOO_LARGE')
  })

  it('an unknown message type is refused with ERR_UNKNOWN_MESSAGE', async () => {
    await expectDropped(r => { r.handshake(); r.sendBytes(Uint8Array.of(2, 200, 0)) }, 'ERR_UNKNOWN_MESSAGE')
  })

  it('garbage bytes are refused with ERR_DECODE', async () => {
    await expectDropped(r => { r.sendBytes(Uint8Array.of(5, 0, 0xff, 0xff, 0xff, 0x7f)) }, 'ERR_DECODE')
  })

  it('a truncated message (trailing bytes missing) is refused with ERR_DECODE', async () => {
    const hs = encodeMessage({ type: 'handshake', protocol: 'munro', version: PROTOCOL_VERSION, discoveryKey: new Uint8Array(32), windowStart: 0, length: 0, source: false, nonce: new Uint8Array(NONCE_SIZE) })
    const cut = hs.subarray(0, hs.length - 10)
    await expectDropped(r => { r.sendBytes(Uint8Array.of(cut.length, ...cut)) }, 'ERR_DECODE')
  })

  it('a message before the handshake is refused with ERR_PROTOCOL', async () => {
    await expectDropped(r => { r.send({ type: 'request', index: 0, fullProof: false, alone: false }) }, 'ERR_PROTOCOL')
  })

  it('a second handshake is refused with ERR_PROTOCOL', async () => {
    await expectDropped(r => { r.handshake(); r.handshake() }, 'ERR_PROTOCOL')
  })

  it('a handshake for another stream (wrong discovery key) is refused with ERR_HANDSHAKE', async () => {
    await expectDropped(r => { r.handshake({ discoveryKey: new Uint8Array(32).fill(7) }) }, 'ERR_HANDSHAKE')
  })

  it('a handshake of another protocol or version is refused with ERR_HANDSHAKE', async () => {
    await expectDropped(r => { r.handshake({ protocol: 'hyper' }) }, 'ERR_HANDSHAKE')
    await expectDropped(r => { r.handshake({ version: PROTOCOL_VERSION + 1 }) }, 'ERR_HANDSHAKE')
  })

  it('a version-3 or version-4 peer (its handshake ends before the flags byte or the nonce) is refused by version with ERR_HANDSHAKE', async () => {
    const old = (version: number, cut: number): Uint8Array => {
      const hs = encodeMessage({ type: 'handshake', protocol: 'munro', version, discoveryKey: new Uint8Array(32), windowStart: 0, length: 0, source: false, nonce: new Uint8Array(NONCE_SIZE) })
      const body = hs.subarray(0, hs.length - cut)
      return Uint8Array.of(body.length, ...body)
    }
    await expectDropped(r => { r.sendBytes(old(3, NONCE_SIZE + 1)) }, 'ERR_HANDSHAKE')
    await expectDropped(r => { r.sendBytes(old(4, NONCE_SIZE)) }, 'ERR_HANDSHAKE')
  })

  it('two peers of different streams drop each other with ERR_HANDSHAKE', async () => {
    const a = createBroadcaster()
    const b = createBroadcaster()
    const ra = waitFor(a, 'peer-remove')
    const rb = waitFor(b, 'peer-remove')
    connect(a, b)
    expect(((await ra).error as MunroError).code).toBe('ERR_HANDSHAKE')
    expect(((await rb).error as MunroError).code).toBe('ERR_HANDSHAKE')
  })

  it('non-byte chunks are refused with ERR_DECODE', async () => {
    await expectDropped(r => { r.stream.write('hello' as unknown as Uint8Array) }, 'ERR_DECODE')
  })

  it('DATA or PIECE nobody asked for is ignored and stores nothing', async () => {
    const a = createBroadcaster()
    await a.append(bytes('x'))
    const v = createReceiver(a, { start: 0 })
    const remote = rawRemote(v)
    remote.handshake()
    remote.send({ type: 'piece', index: 0, piece: 0, uncles: [], data: bytes('evil') })
    remote.send({ type: 'data', index: 0, byteLength: 4, flags: 0, pieceRoot: new Uint8Array(32), head: null, nodes: [] })
    await sleep(20)
    expect(v.info(0)).toBeUndefined()
    expect(v.peers).toHaveLength(1)
  })
})
