/**
 * The bytes each side of the handshake signs (PROTOCOL.md 8.1.4 is the normative layout).
 * Everything variable is length-prefixed, so no two different transcripts share an encoding:
 *
 *   str("wspeer-hello-v1") u8(signerRole) bin(dialerNonce) bin(acceptorNonce) str(dialedAddress)
 *   endpoint(dialer) endpoint(acceptor)
 *   endpoint = str(id) str(address) u8(type) bin(keyId) bin(publicKey)
 *   str(s)   = u32be(byteLength(utf8(s))) utf8(s);   bin(b) = u32be(length(b)) b
 *
 * In: both endpoints, both nonces, the address the dialer dialed, and whose signature this is.
 * Out: the transcript bytes. Pure and synchronous.
 */
import type { PeerEndpoint } from '../wire/payload-types.js'

/** Protocol label that opens every transcript; a new handshake version gets a new label. */
export const HANDSHAKE_LABEL = 'wspeer-hello-v1'

/** Which side produced a signature; signed, so a dialer's signature never passes as an acceptor's. */
export const SignerRole = { DIALER: 1, ACCEPTOR: 2 } as const
export type SignerRole = (typeof SignerRole)[keyof typeof SignerRole]

export interface TranscriptEndpoint {
  endpoint: Pick<PeerEndpoint, 'id' | 'address' | 'type'>
  keyId: Uint8Array
  publicKey: Uint8Array
}

export interface TranscriptInput {
  signer: SignerRole
  dialerNonce: Uint8Array
  acceptorNonce: Uint8Array
  /** The URL the dialer opened: binds the link to the acceptor the dialer meant to reach. */
  dialedAddress: string
  dialer: TranscriptEndpoint
  acceptor: TranscriptEndpoint
}

const utf8 = new TextEncoder()

export function handshakeTranscript(input: TranscriptInput): Uint8Array {
  const parts: Uint8Array[] = []
  const u32 = (n: number): void => {
    const b = new Uint8Array(4)
    new DataView(b.buffer).setUint32(0, n)
    parts.push(b)
  }
  const bin = (b: Uint8Array): void => {
    u32(b.length)
    parts.push(b)
  }
  const str = (s: string): void => bin(utf8.encode(s))
  const u8 = (n: number): void => {
    parts.push(new Uint8Array([n]))
  }
  const endpoint = (e: TranscriptEndpoint): void => {
    str(e.endpoint.id)
    str(e.endpoint.address)
    u8(e.endpoint.type)
    bin(e.keyId)
    bin(e.publicKey)
  }
  str(HANDSHAKE_LABEL)
  u8(input.signer)
  // Nonces are fixed-size (checked before a transcript is built) but prefixed anyway, so the
  // layout needs no side knowledge to parse.
  bin(input.dialerNonce)
  bin(input.acceptorNonce)
  str(input.dialedAddress)
  endpoint(input.dialer)
  endpoint(input.acceptor)
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
