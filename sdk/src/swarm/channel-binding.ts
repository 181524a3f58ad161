/**
 * The channel binding of a WebRTC connection, for `peerStream({ channelBinding })`: its two
 * DTLS certificate fingerprints, as both ends read them from the session descriptions.
 *
 * DTLS checks each side's certificate against the fingerprint in the SDP its peer received, so
 * the pair names this one connection: a peer in the middle (or one relaying the broadcaster's
 * SOURCE_PROOF from its own connection) holds two connections with two different pairs. Both
 * ends compute the same bytes: each side's fingerprints are sorted and lower-cased, and the
 * two sides are put in sorted order, so local and remote swap without changing the result.
 * @module
 */
import type SimplePeer from 'simple-peer'

/** `a=fingerprint:<hash function> <hex pairs>` (RFC 8122), one per media section or session. */
const FINGERPRINT = /^a=fingerprint:(\S+)\s+([0-9A-Fa-f:]+)\s*$/gm

/** The distinct fingerprints of one session description, normalised and sorted, or null. */
export function sdpFingerprints (sdp: string): string | null {
  const found = new Set<string>()
  for (const m of sdp.matchAll(FINGERPRINT)) found.add(`${(m[1] as string).toLowerCase()} ${(m[2] as string).toLowerCase()}`)
  return found.size === 0 ? null : [...found].sort().join(',')
}

/** The binding bytes of a local and a remote session description; undefined if either has no fingerprint. */
export function channelBindingOf (localSdp: string, remoteSdp: string): Uint8Array | undefined {
  const local = sdpFingerprints(localSdp)
  const remote = sdpFingerprints(remoteSdp)
  if (local === null || remote === null) return undefined
  return new TextEncoder().encode([local, remote].sort().join('|'))
}

/** The channel binding of a connected simple-peer, or undefined when its descriptions cannot be read. */
export function peerChannelBinding (peer: SimplePeer.Instance): Uint8Array | undefined {
  const pc = (peer as unknown as { _pc?: { localDescription?: { sdp?: string } | null, remoteDescription?: { sdp?: string } | null } })._pc
  const local = pc?.localDescription?.sdp
  const remote = pc?.remoteDescription?.sdp
  return typeof local === 'string' && typeof remote === 'string' ? channelBindingOf(local, remote) : undefined
}
