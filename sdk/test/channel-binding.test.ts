import { describe, expect, it } from 'vitest'
import { channelBindingOf, sdpFingerprints } from '../src/swarm/channel-binding.js'

const sdp = (...fingerprints: string[]): string => [
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
  ...fingerprints.map(f => `a=fingerprint:${f}`), 'a=setup:actpass', 'a=sctp-port:5000', ''
].join('\r\n')

const A = 'sha-256 AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89'
const B = 'sha-256 10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE'
const C = 'sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF'

describe('channel binding from the DTLS fingerprints of a connection', () => {
  it('both ends compute the same bytes: local and remote swap', () => {
    const offer = sdp(A)
    const answer = sdp(B)
    const atOfferer = channelBindingOf(offer, answer)
    expect(atOfferer).toBeDefined()
    expect(channelBindingOf(answer, offer)).toEqual(atOfferer)
  })

  it('fingerprints are case-insensitive, and repeats (one per media section) count once', () => {
    expect(sdpFingerprints(sdp(A, A.toLowerCase()))).toBe(A.toLowerCase())
    expect(channelBindingOf(sdp(A, A), sdp(B))).toEqual(channelBindingOf(sdp(A.toLowerCase()), sdp(B)))
  })

  it('another connection (a peer in the middle has its own certificate) gives other bytes', () => {
    expect(channelBindingOf(sdp(A), sdp(B))).not.toEqual(channelBindingOf(sdp(A), sdp(C)))
    expect(channelBindingOf(sdp(A), sdp(B))).not.toEqual(channelBindingOf(sdp(C), sdp(B)))
  })

  it('a description without a fingerprint gives no binding', () => {
    expect(sdpFingerprints(sdp())).toBeNull()
    expect(channelBindingOf(sdp(), sdp(B))).toBeUndefined()
    expect(channelBindingOf(sdp(A), 'garbage')).toBeUndefined()
  })
})
