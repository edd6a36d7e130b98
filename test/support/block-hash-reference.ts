import { createHash } from 'node:crypto'
import type { Block, Transaction } from '../../src/core/wire/payload-types.js'

/**
 * An independent implementation of PROTOCOL.md's "Block hash", written from the text with Node's
 * crypto and Buffer, so the TypeScript encoder is checked against the spec rather than itself.
 */
export const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return b
}
export const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return b
}
export const lp = (bytes: Uint8Array): Buffer => Buffer.concat([u32(bytes.length), Buffer.from(bytes)])
export const lpStr = (s: string): Buffer => lp(Buffer.from(s, 'utf8'))
export const sha = (bytes: Buffer): Buffer => createHash('sha256').update(bytes).digest()

export function specTxRoot(txs: readonly Transaction[]): Buffer {
  return sha(Buffer.concat(txs.map((t) => Buffer.concat([lpStr(t.txid), lpStr(t.payload), lpStr(t.origin), u64(t.timestamp)]))))
}

export function specBlockHash(b: Block): Buffer {
  return sha(
    Buffer.concat([
      Buffer.from('wspeer-block-v1', 'ascii'),
      u64(b.number),
      lp(b.previousBlockHash),
      lp(b.stateHash),
      u64(b.timestamp),
      lpStr(b.proposer),
      specTxRoot(b.transactions),
    ]),
  )
}
