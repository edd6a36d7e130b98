/**
 * Node's native SHA-256 for the ledger and PBFT hashes. The core hashes with @noble/hashes (pure
 * JavaScript, so it runs in any browser); Node's OpenSSL one is about 8x faster here, and the bytes
 * hashed, so every hash, stay the same (test/core/ledger/hash-fast-paths.test.ts checks it).
 * Short inputs (nearly all of them) go through the one-shot `crypto.hash` (Node 20.12+), which
 * makes no Hash object: about 0.7 us a hash against 1.1 for createHash + update + digest.
 */
import * as crypto from 'node:crypto'
import { useSha256, type Sha256Hasher } from '../core/ledger/block-hash.js'

type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer

class NativeHasher implements Sha256Hasher {
  readonly #hash = crypto.createHash('sha256')

  update(bytes: Uint8Array): void {
    this.#hash.update(bytes)
  }

  digest(): Uint8Array {
    return asUint8Array(this.#hash.digest())
  }
}

/** A plain Uint8Array over the Buffer's memory when the Buffer owns all of it, else a copy (pooled Buffers share theirs). */
function asUint8Array(buf: Buffer): Uint8Array {
  return buf.byteOffset === 0 && buf.buffer.byteLength === buf.byteLength ? new Uint8Array(buf.buffer, 0, buf.byteLength) : new Uint8Array(buf)
}

function newNativeHasher(): Sha256Hasher {
  return new NativeHasher()
}

export function installNativeSha256(): void {
  // Read through the namespace: older Node versions have no `hash` export.
  const hash = (crypto as { hash?: OneShot }).hash
  useSha256(newNativeHasher, typeof hash === 'function' ? (bytes) => asUint8Array(hash('sha256', bytes, 'buffer')) : undefined)
}
