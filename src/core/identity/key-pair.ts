/**
 * A peer's Ed25519 key pair: sign and verify over raw bytes, the raw 32-byte public key and its key
 * id. WebCrypto is used where it has Ed25519 and @noble/curves elsewhere (see ed25519.ts); callers
 * never see which. Private keys stay inside the object: Node persists them through
 * `exportSeed` (src/node/key-store.ts); a browser tab keeps a non-extractable WebCrypto key.
 *
 * In: nothing (fresh pair), a 32-byte seed, or an existing pair of WebCrypto keys. Out: KeyPair.
 */
import { KeyError } from '../errors.js'
import {
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  backendByName,
  defaultBackend,
  pkcs8ToSeed,
  type Ed25519Backend,
  type Ed25519BackendName,
  type Ed25519PrivateKey,
} from './ed25519.js'
import { keyIdHex, keyIdOf } from './key-id.js'

export interface KeyPair {
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** keyIdOf(publicKey) (20 bytes) and its hex form. */
  readonly keyId: Uint8Array
  readonly keyIdHex: string
  readonly extractable: boolean
  readonly backend: Ed25519BackendName
  /** A 64-byte Ed25519 signature over exactly these bytes. */
  sign(data: Uint8Array): Promise<Uint8Array>
  /** The 32-byte private seed; throws KeyError for a non-extractable key. */
  exportSeed(): Promise<Uint8Array>
}

export interface KeyPairOptions {
  /** Whether the private key can be exported (default false: only Node's key store needs it). */
  extractable?: boolean
  /** Force a backend (tests compare them); default: WebCrypto when it has Ed25519. */
  backend?: Ed25519BackendName
}

function wrap(key: Ed25519PrivateKey, backend: Ed25519Backend): KeyPair {
  const keyId = keyIdOf(key.publicKey)
  return {
    publicKey: key.publicKey.slice(),
    keyId,
    keyIdHex: keyIdHex(key.publicKey),
    extractable: key.extractable,
    backend: backend.name,
    sign: (data) => key.sign(data),
    exportSeed: () => key.exportSeed(),
  }
}

async function pick(options: KeyPairOptions | undefined): Promise<Ed25519Backend> {
  return options?.backend === undefined ? defaultBackend() : backendByName(options.backend)
}

export async function generateKeyPair(options?: KeyPairOptions): Promise<KeyPair> {
  const backend = await pick(options)
  return wrap(await backend.generate(options?.extractable ?? false), backend)
}

/** The key pair of a 32-byte seed (RFC 8032 private key); the same seed gives the same pair everywhere. */
export async function keyPairFromSeed(seed: Uint8Array, options?: KeyPairOptions): Promise<KeyPair> {
  const backend = await pick(options)
  return wrap(await backend.fromSeed(seed, options?.extractable ?? false), backend)
}

/**
 * WebCrypto's CryptoKey, spelled through `crypto.subtle` so the package's declarations compile for
 * Node-only TypeScript users, whose @types/node has no global CryptoKey without the DOM lib.
 */
export type WebCryptoKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>

/**
 * Wraps WebCrypto keys that already exist, e.g. a non-extractable pair loaded from IndexedDB.
 * The public key must be an Ed25519 public CryptoKey (always exportable in WebCrypto).
 */
export async function keyPairFromCryptoKeys(privateKey: WebCryptoKey, publicKey: WebCryptoKey): Promise<KeyPair> {
  if (privateKey.algorithm.name !== 'Ed25519' || publicKey.algorithm.name !== 'Ed25519') throw new KeyError('not an Ed25519 CryptoKey pair')
  const raw = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', publicKey))
  const key: Ed25519PrivateKey = {
    publicKey: raw,
    extractable: privateKey.extractable,
    sign: async (data) => new Uint8Array(await globalThis.crypto.subtle.sign({ name: 'Ed25519' }, privateKey, new Uint8Array(data))),
    exportSeed: async () => {
      if (!privateKey.extractable) throw new KeyError('the private key is not extractable')
      return pkcs8ToSeed(new Uint8Array(await globalThis.crypto.subtle.exportKey('pkcs8', privateKey)))
    },
  }
  return wrap(key, backendByName('webcrypto'))
}

/** Checks a raw public key's length; returns a copy. Point validity is left to verify, which fails closed. */
export function importPublicKey(raw: Uint8Array): Uint8Array {
  if (raw.length !== PUBLIC_KEY_BYTES) throw new KeyError(`an Ed25519 public key is ${PUBLIC_KEY_BYTES} bytes, got ${raw.length}`)
  return raw.slice()
}

/** The raw 32-byte public key (a copy): what membership files and the handshake carry. */
export function exportPublicKey(keyPair: KeyPair): Uint8Array {
  return keyPair.publicKey.slice()
}

/**
 * Verifies an Ed25519 signature over `data`. False for a bad signature, a malformed key or a
 * signature of the wrong length; never throws for bad input.
 */
export async function verifySignature(
  publicKey: Uint8Array,
  data: Uint8Array,
  signature: Uint8Array,
  options?: { backend?: Ed25519BackendName },
): Promise<boolean> {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false
  const backend = options?.backend === undefined ? await defaultBackend() : backendByName(options.backend)
  return backend.verify(publicKey, data, signature)
}
