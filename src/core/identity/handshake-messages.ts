/**
 * The three handshake messages and their wire form. Each rides in a DISC_HELLO payload: the
 * HELLO's `peerEndpoint` (with `pkiId` = the sender's key id) plus one new optional key, `auth`,
 * a strict msgpack map (PROTOCOL.md 8.1.3):
 *
 *   step 1, dialer -> acceptor:  { step: 1, nonce: bin 32, publicKey: bin 32, dialedAddress: str }
 *   step 2, acceptor -> dialer:  { step: 2, nonce: bin 32, publicKey: bin 32, signature: bin 64 }
 *   step 3, dialer -> acceptor:  { step: 3, signature: bin 64 }
 *
 * In: a decoded HELLO's endpoint and its `auth` value (unknown until checked here). Out: a typed
 * HandshakeMessage for handshake.ts, or HandshakeError('malformed') (1008). And back: the fields
 * to put into an outgoing HELLO.
 */
import * as v from 'valibot'
import { HandshakeError } from '../errors.js'
import type { PeerEndpoint } from '../wire/payload-types.js'
import { MAX_ADDRESS_BYTES } from '../wire/codec-limits.js'
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './ed25519.js'

/** Length of each side's fresh random challenge. */
export const NONCE_BYTES = 32

export interface HelloInit {
  step: 1
  endpoint: PeerEndpoint
  nonce: Uint8Array
  publicKey: Uint8Array
  dialedAddress: string
}

export interface HelloReply {
  step: 2
  endpoint: PeerEndpoint
  nonce: Uint8Array
  publicKey: Uint8Array
  signature: Uint8Array
}

export interface HelloConfirm {
  step: 3
  endpoint: PeerEndpoint
  signature: Uint8Array
}

export type HandshakeMessage = HelloInit | HelloReply | HelloConfirm

/** The `auth` map of a DISC_HELLO payload, as it goes on the wire. */
export type HelloAuth =
  | { step: 1; nonce: Uint8Array; publicKey: Uint8Array; dialedAddress: string }
  | { step: 2; nonce: Uint8Array; publicKey: Uint8Array; signature: Uint8Array }
  | { step: 3; signature: Uint8Array }

const bytes = (n: number) => v.pipe(v.instance(Uint8Array), v.length(n, `must be ${n} bytes`))
const fitsUtf8 = (max: number) => v.check((s: string) => new TextEncoder().encode(s).length <= max, `longer than ${max} UTF-8 bytes`)

/** Strict schema of the `auth` map; the payload decoder enforces its msgpack rules first. */
export const HelloAuthSchema = v.variant('step', [
  v.strictObject({ step: v.literal(1), nonce: bytes(NONCE_BYTES), publicKey: bytes(PUBLIC_KEY_BYTES), dialedAddress: v.pipe(v.string(), fitsUtf8(MAX_ADDRESS_BYTES)) }),
  v.strictObject({ step: v.literal(2), nonce: bytes(NONCE_BYTES), publicKey: bytes(PUBLIC_KEY_BYTES), signature: bytes(SIGNATURE_BYTES) }),
  v.strictObject({ step: v.literal(3), signature: bytes(SIGNATURE_BYTES) }),
])

const AUTH_FIELDS = new Set(['step', 'nonce', 'publicKey', 'dialedAddress', 'signature'])

/** Turns a HELLO's endpoint and `auth` value into a handshake message; HandshakeError('malformed') otherwise. */
export function messageFromHello(peerEndpoint: PeerEndpoint, auth: unknown): HandshakeMessage {
  const result = v.safeParse(HelloAuthSchema, auth, { abortEarly: true })
  if (!result.success) {
    // Only the schema's own field names reach the message: remote keys and values are never echoed.
    const key = result.issues[0].path?.[0]?.key
    const field = typeof key === 'string' && AUTH_FIELDS.has(key) ? ` (field ${key})` : ''
    throw new HandshakeError('malformed', `malformed DISC_HELLO auth map${field}`)
  }
  return { ...result.output, endpoint: peerEndpoint }
}

/** The `peerEndpoint` and `auth` fields of the DISC_HELLO that carries `message`. */
export function helloFieldsOf(message: HandshakeMessage): { peerEndpoint: PeerEndpoint; auth: HelloAuth } {
  switch (message.step) {
    case 1:
      return { peerEndpoint: message.endpoint, auth: { step: 1, nonce: message.nonce, publicKey: message.publicKey, dialedAddress: message.dialedAddress } }
    case 2:
      return { peerEndpoint: message.endpoint, auth: { step: 2, nonce: message.nonce, publicKey: message.publicKey, signature: message.signature } }
    case 3:
      return { peerEndpoint: message.endpoint, auth: { step: 3, signature: message.signature } }
  }
}
