/**
 * Node's native SHA-256 for the ledger and PBFT hashes. The core hashes with @noble/hashes (pure
 * JavaScript, so it runs in any browser); Node's OpenSSL one is about 8x faster here, and the bytes
 * hashed, so every hash, stay the same (test/core/ledger/hash-fast-paths.test.ts checks it).
 */
import { createHash } from 'node:crypto'
import { useSha256 } from '../core/ledger/block-hash.js'

export function installNativeSha256(): void {
  useSha256(() => {
    const hash = createHash('sha256')
    return {
      update: (bytes: Uint8Array) => hash.update(bytes),
      digest: () => new Uint8Array(hash.digest()),
    }
  })
}
