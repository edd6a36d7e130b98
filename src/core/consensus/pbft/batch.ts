/**
 * A request batch: what one PBFT sequence number orders, and its digest. The primary makes a batch
 * from outstanding requests; every replica recomputes the digest of the batch it receives in a
 * pre-prepare (the digest is never taken on trust), so prepares and commits can carry 32 bytes.
 *
 * The digest is the body hash (PROTOCOL.md "Block hash") of the block the batch becomes: SHA-256
 * over "wspeer-body-v1", u64be(timestamp), lp(proposer) and the transactions, in hex. One hash
 * serves both: the block hash of the committed batch covers its body through this same value.
 * A null request (a view-change gap filler, or an idle primary's heartbeat) has no batch and the
 * empty digest ''.
 *
 *   const d = batchDigest({ timestamp: 5, proposer: 'vp0', txs })  // 64 hex chars
 */
import { bodyHash, sealTransactions } from '../../ledger/block-hash.js'
import { toHex } from '../../util/bytes.js'
import type { Transaction } from '../../wire/payload-types.js'

export interface PbftBatch {
  /** Block timestamp every replica commits this batch with (the primary's clock when it cut it). */
  timestamp: number
  /** Peer ID of the primary that cut it; becomes the block's proposer. */
  proposer: string
  txs: Transaction[]
}

/** Digest of a null request: it orders nothing, consumes its sequence number and commits no block. */
export const NULL_DIGEST = ''

/**
 * Hex digest of a batch, as the module header defines it. Seals (freezes) the batch's transaction
 * list: the ledger then builds the block from that same list, and its block hash reuses the body
 * hash instead of hashing every transaction a second time.
 */
export function batchDigest(batch: PbftBatch): string {
  return toHex(bodyHash(batch.timestamp, batch.proposer, sealTransactions(batch.txs)))
}
