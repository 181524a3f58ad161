/**
 * Core benchmark: hashing and signature throughput, append/verify rates, append→verified latency
 * over chains of in-memory hops, proof bytes per block, and sign-every-append vs every N.
 * The stream to keep up with: 4 Mbit/s in 250 ms blocks (125,000-byte blocks, 4 per second).
 */
import { createHash, webcrypto } from 'node:crypto'
import { sha256 } from '@noble/hashes/sha2.js'
import * as ed from '@noble/ed25519'
import { munro, type Munro } from '../src/index.js'
import { percentile, printTable, rate, rateAsync, writeResult } from './util.js'

const STREAM_BITRATE = 4_000_000
const BLOCK_MS = 250
const BLOCK_BYTES = STREAM_BITRATE / 8 * BLOCK_MS / 1000
const BLOCKS_PER_SECOND = 1000 / BLOCK_MS

function randomBlock (n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) webcrypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

async function crypto (): Promise<Record<string, number>> {
  const mib = randomBlock(1 << 20)
  const parent = randomBlock(96)
  const msg = randomBlock(112)
  const { secretKey, publicKey } = ed.keygen()
  const sig = ed.sign(msg, secretKey)
  const wcKey = await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as CryptoKeyPair
  const wcSig = await webcrypto.subtle.sign('Ed25519', wcKey.privateKey, msg)
  return {
    nobleSha256MBps: rate(() => sha256(mib), 600) * 1.048576,
    nodeSha256MBps: rate(() => createHash('sha256').update(mib).digest(), 400) * 1.048576,
    webcryptoSha256MBps: await rateAsync(() => webcrypto.subtle.digest('SHA-256', mib), 400) * 1.048576,
    nobleParentHashPerSec: rate(() => sha256(parent)),
    nobleSignPerSec: rate(() => ed.sign(msg, secretKey)),
    nobleVerifyPerSec: rate(() => ed.verify(sig, msg, publicKey)),
    webcryptoSignPerSec: await rateAsync(() => webcrypto.subtle.sign('Ed25519', wcKey.privateKey, msg)),
    webcryptoVerifyPerSec: await rateAsync(() => webcrypto.subtle.verify('Ed25519', wcKey.publicKey, wcSig, msg))
  }
}

function connect (a: Munro, b: Munro): void {
  const sa = a.peerStream()
  const sb = b.peerStream()
  sa.pipe(sb).pipe(sa)
}

const nextVerified = (m: Munro, index: number): Promise<void> => new Promise((resolve) => {
  const on = (e: { index: number }): void => { if (e.index === index) { m.off('verified', on); resolve() } }
  m.on('verified', on)
})

/** Blocks per second a broadcaster appends, and a directly connected receiver verifies. */
async function throughput (): Promise<Record<string, number>> {
  const blocks = Array.from({ length: 8 }, () => randomBlock(BLOCK_BYTES))
  const b = munro()
  let i = 0
  const appendRate = await rateAsync(() => b.append(blocks[i++ % blocks.length] as Uint8Array), 1000)
  await b.destroy()
  const b2 = munro({ maxBlocks: 64 })
  const r = munro(b2.id, { maxBlocks: 64 })
  connect(b2, r)
  const n = 120
  const t0 = performance.now()
  const done = nextVerified(r, n - 1)
  for (let k = 0; k < n; k++) await b2.append(blocks[k % blocks.length] as Uint8Array)
  await done
  const verifyRate = n / ((performance.now() - t0) / 1000)
  await r.destroy(); await b2.destroy()
  return { appendBlocksPerSec: appendRate, appendAndVerifyBlocksPerSec: verifyRate }
}

/** append → verified latency at the end of a chain of `hops` in-memory links. */
async function chain (hops: number, signEvery: number, blocks: number): Promise<{ latencies: number[], proofBytesPerBlock: number, signatures: number }> {
  const b = munro(null, { signEvery, maxBlocks: 64 })
  const peers: Munro[] = [b]
  for (let h = 0; h < hops; h++) {
    const r = munro(b.id, { maxBlocks: 64, start: 0 })
    connect(peers[peers.length - 1] as Munro, r)
    peers.push(r)
  }
  const last = peers[peers.length - 1] as Munro
  const data = randomBlock(BLOCK_BYTES)
  const latencies: number[] = []
  for (let i = 0; i < blocks; i++) {
    const t0 = performance.now()
    const done = nextVerified(last, i)
    await b.append(data)
    await done
    latencies.push(performance.now() - t0)
  }
  const proofBytesPerBlock = b.stats().proofBytesSent / blocks
  const signatures = last.stats().signatureVerifications
  for (const p of peers) await p.destroy()
  return { latencies, proofBytesPerBlock, signatures }
}

/**
 * With signEvery N a block waits for the head that covers it. Measured at a paced stream
 * (one block every PACE_MS, to keep the run short) and converted to blocks of wait, then to
 * milliseconds at the real 250 ms pace.
 */
const PACE_MS = 20
async function signEveryTradeoff (): Promise<Array<Record<string, number | string>>> {
  const rows: Array<Record<string, number | string>> = []
  for (const n of [1, 4, 16]) {
    const b = munro(null, { signEvery: n, maxBlocks: 128 })
    const r = munro(b.id, { maxBlocks: 128, start: 0 })
    connect(b, r)
    const data = randomBlock(BLOCK_BYTES)
    const blocks = 96
    const appendedAt: number[] = []
    const lat: number[] = []
    r.on('verified', (e) => { lat.push(performance.now() - (appendedAt[e.index] as number)) })
    for (let i = 0; i < blocks; i++) {
      appendedAt[i] = performance.now()
      await b.append(data)
      await new Promise(resolve => setTimeout(resolve, PACE_MS))
    }
    await new Promise(resolve => setTimeout(resolve, 200))
    const mean = lat.reduce((a, v) => a + v, 0) / lat.length
    rows.push({
      signEvery: n,
      headsSigned: Math.floor(blocks / n),
      receiverSignatureChecks: r.stats().signatureVerifications,
      blocksVerified: lat.length,
      meanLatencyMs: mean,
      p95LatencyMs: percentile(lat, 95),
      addedWaitBlocks: rows.length === 0 ? 0 : (mean - (rows[0]?.meanLatencyMs as number)) / PACE_MS,
      estMeanAt250msBlocksMs: rows.length === 0 ? mean : (rows[0]?.meanLatencyMs as number) + (mean - (rows[0]?.meanLatencyMs as number)) / PACE_MS * BLOCK_MS
    })
    await r.destroy(); await b.destroy()
  }
  return rows
}

export async function runCoreBench (): Promise<Record<string, unknown>> {
  const c = await crypto()
  printTable('Crypto throughput (one core)', [
    { operation: 'SHA-256 of 1 MiB (MB/s)', noble: c.nobleSha256MBps as number, 'node:crypto': c.nodeSha256MBps as number, WebCrypto: c.webcryptoSha256MBps as number },
    { operation: 'ed25519 sign (/s)', noble: c.nobleSignPerSec as number, 'node:crypto': '-', WebCrypto: c.webcryptoSignPerSec as number },
    { operation: 'ed25519 verify (/s)', noble: c.nobleVerifyPerSec as number, 'node:crypto': '-', WebCrypto: c.webcryptoVerifyPerSec as number },
    { operation: 'SHA-256 Merkle parent (/s)', noble: c.nobleParentHashPerSec as number, 'node:crypto': '-', WebCrypto: '-' }
  ])
  const t = await throughput()
  printTable(`Blocks of ${BLOCK_BYTES.toLocaleString('en-US')} bytes (4 Mbit/s in 250 ms blocks needs ${BLOCKS_PER_SECOND}/s)`, [
    { measure: 'appended and signed', 'blocks/s': t.appendBlocksPerSec as number, headroom: `${((t.appendBlocksPerSec as number) / BLOCKS_PER_SECOND).toFixed(0)}x` },
    { measure: 'appended + verified by a receiver', 'blocks/s': t.appendAndVerifyBlocksPerSec as number, headroom: `${((t.appendAndVerifyBlocksPerSec as number) / BLOCKS_PER_SECOND).toFixed(0)}x` }
  ])
  const chains: Array<Record<string, number>> = []
  for (const hops of [1, 2, 4, 8]) {
    const r = await chain(hops, 1, 60)
    const lat = r.latencies.slice(5)
    chains.push({ hops, p50Ms: percentile(lat, 50), p95Ms: percentile(lat, 95), perHopP50Ms: percentile(lat, 50) / hops, proofBytesPerBlock: r.proofBytesPerBlock, signatureChecksAtLastHop: r.signatures })
  }
  printTable('append → verified across in-memory hops (125 KB blocks, sign every append)', chains)
  const tradeoff = await signEveryTradeoff()
  printTable(`Sign every append vs every N (paced at one block per ${PACE_MS} ms; last column scaled to 250 ms blocks)`, tradeoff)
  // Headroom: how many times the 4 Mbit/s stream's block rate each path sustains, and each hop
  // count's p50 latency as a share of one block's duration (the budget a live stream has).
  const headroom = {
    append: (t.appendBlocksPerSec as number) / BLOCKS_PER_SECOND,
    appendAndVerify: (t.appendAndVerifyBlocksPerSec as number) / BLOCKS_PER_SECOND,
    p50LatencyPerBlockDuration: Object.fromEntries(chains.map(ch => [`${ch.hops as number} hops`, (ch.p50Ms as number) / BLOCK_MS]))
  }
  return { stream: { bitrate: STREAM_BITRATE, blockMs: BLOCK_MS, blockBytes: BLOCK_BYTES }, crypto: c, throughput: t, headroom, chains, signEvery: tradeoff }
}

if (import.meta.url === `file://${process.argv[1] ?? ""}`) {
  const result = await runCoreBench()
  console.log(`\nwrote ${writeResult('core', result)}`)
}
