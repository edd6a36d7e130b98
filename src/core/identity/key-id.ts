/**
 * The key id: a short, stable name for an Ed25519 public key, carried beside the human-readable
 * peer ID (`vp0`) in PeerEndpoint.pkiId and shown to operators.
 *
 *   keyId = SHA-256( UTF-8("wspeer-key-id-v1") || 0x00 || publicKey[32] )[0..20]
 *
 * 20 bytes (160 bits): second preimages (a new key that hits someone else's id) stay out of reach,
 * and the text form stays short. The domain prefix keeps this hash apart from every other SHA-256
 * in the protocol. Text form: 40 lowercase hex digits. In: a raw 32-byte public key. Out: bytes or
 * hex. Synchronous (pure JavaScript SHA-256), so a membership file can be indexed without awaiting.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { KeyError } from '../errors.js'
import { fromHex, toHex } from '../util/bytes.js'
import { PUBLIC_KEY_BYTES } from './ed25519.js'

/** Domain label hashed in front of the public key. */
export const KEY_ID_DOMAIN = 'wspeer-key-id-v1'
/** Key id length in bytes (40 hex digits). */
export const KEY_ID_BYTES = 20

const DOMAIN_BYTES = new TextEncoder().encode(KEY_ID_DOMAIN)

export function keyIdOf(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new KeyError(`an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`)
  const input = new Uint8Array(DOMAIN_BYTES.length + 1 + PUBLIC_KEY_BYTES)
  input.set(DOMAIN_BYTES)
  input[DOMAIN_BYTES.length] = 0
  input.set(publicKey, DOMAIN_BYTES.length + 1)
  return sha256(input).slice(0, KEY_ID_BYTES)
}

/** The key id of a public key as 40 lowercase hex digits. */
export function keyIdHex(publicKey: Uint8Array): string {
  return toHex(keyIdOf(publicKey))
}

export function formatKeyId(keyId: Uint8Array): string {
  return toHex(keyId)
}

export function parseKeyId(text: string): Uint8Array {
  if (!/^[0-9a-f]{40}$/.test(text)) throw new KeyError('a key id is 40 lowercase hex digits')
  return fromHex(text)
}
