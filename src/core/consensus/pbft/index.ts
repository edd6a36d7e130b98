/**
 * The PBFT plugin (batch mode): client requests in through `recvMsg`, ordered by Castro-Liskov
 * PBFT among the configured validators, executed as one block per sequence number. See replica.ts
 * (and the parts it names) for the protocol and pbft-consenter.ts for what is accepted from whom.
 */
export * from './config.js'
export { NULL_DIGEST, batchDigest, type PbftBatch } from './batch.js'
export {
  PBFT_MAX_BUNDLE_BYTES,
  PBFT_MAX_BUNDLE_MESSAGES,
  PBFT_MAX_SET_ENTRIES,
  decodePbftMessage,
  encodeBundle,
  encodePbftMessage,
  type BundleMsg,
  type PbftMessage,
} from './messages.js'
export { createPbftConsenter, type PbftConsenter, type PbftStatus } from './pbft-consenter.js'
export { Replica, type ReplicaStats, type ReplicaStatus } from './replica.js'
export { PBFT_MAX_FETCHES_PER_PEER, transferState, type TransferTarget } from './state-transfer.js'
export { assignSequenceNumbers, selectCheckpoint } from './view-change.js'
