/**
 * Node's native SHA-256 for the ledger and PBFT hashes. The core hashes with @noble/hashes (pure
 * JavaScript, so it runs in any browser); Node's OpenSSL one is several times faster here, and the
 * bytes hashed, so every hash, stay the same (test/core/ledger/hash-fast-paths.test.ts checks it).
 *
 * Short inputs (nearly all of them) go through the one-shot `crypto.hash` (Node 20.12+), which
 * makes no Hash object. Digests come back as 'latin1' strings, one character per byte, copied
 * into a Uint8Array here: a 'buffer' result costs Node about 0.4 us more per call to build (0.55
 * against 0.2 us for a 40-byte input, measured on Node 20), and each block takes three hashes on
 * every peer.
 */
import * as crypto from 'node:crypto'
import { HASH_BYTES, useSha256, type Sha256Hasher } from '../core/ledger/block-hash.js'

// 'binary' is Node's name for latin1 in these signatures.
type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'binary') => string

/** The digest bytes of a 'latin1' digest string (exact: latin1 maps bytes 0..255 to code units 0..255). */
function latin1Bytes(digest: string): Uint8Array {
  const out = new Uint8Array(HASH_BYTES)
  for (let i = 0; i < HASH_BYTES; i++) out[i] = digest.charCodeAt(i)
  return out
}

class NativeHasher implements Sha256Hasher {
  readonly #hash = crypto.createHash('sha256')

  update(bytes: Uint8Array): void {
    this.#hash.update(bytes)
  }

  digest(): Uint8Array {
    return latin1Bytes(this.#hash.digest('binary'))
  }
}

function newNativeHasher(): Sha256Hasher {
  return new NativeHasher()
}

export function installNativeSha256(): void {
  // Read through the namespace: older Node versions have no `hash` export.
  const hash = (crypto as unknown as { hash?: OneShot }).hash
  useSha256(newNativeHasher, typeof hash === 'function' ? (bytes) => latin1Bytes(hash('sha256', bytes, 'binary')) : undefined)
}
