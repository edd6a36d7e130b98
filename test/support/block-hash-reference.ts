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

/** The transactions' part of a body: lp(txid) || lp(payload) || lp(origin) || u64(timestamp) each. */
export const txBytes = (txs: readonly Transaction[]): Buffer =>
  Buffer.concat(txs.map((t) => Buffer.concat([lpStr(t.txid), lpStr(t.payload), lpStr(t.origin), u64(t.timestamp)])))

export function specBodyHash(timestamp: number, proposer: string, txs: readonly Transaction[]): Buffer {
  return sha(Buffer.concat([Buffer.from('wspeer-body-v1', 'ascii'), u64(timestamp), lpStr(proposer), txBytes(txs)]))
}

export function specBlockHash(b: Block): Buffer {
  return sha(
    Buffer.concat([
      Buffer.from('wspeer-block-v2', 'ascii'),
      u64(b.number),
      lp(b.previousBlockHash),
      lp(b.stateHash),
      specBodyHash(b.timestamp, b.proposer, b.transactions),
    ]),
  )
}

/** stateHash(n) from stateHash(n-1) and block n's write set, already sorted by key. */
export function specNextStateHash(previous: Uint8Array, sortedWrites: readonly (readonly [string, string])[]): Buffer {
  return sha(Buffer.concat([Buffer.from('wspeer-state-v2', 'ascii'), Buffer.from(previous), ...sortedWrites.flatMap(([k, v]) => [lpStr(k), lpStr(v)])]))
}
