/**
 * The ledger layer. In: transaction batches from a consenter, or blocks made elsewhere (state
 * transfer, a noops leader). Out: blocks, hashes, state, snapshots and per-block write sets for
 * SYNC_* answers, and onBlock notifications. The block and state hashes are defined in
 * block-hash.ts and state-machine.ts and written down in PROTOCOL.md ("Block hash").
 */
export type { Ledger } from './ledger.js'
export { createMemoryLedger, type MemoryLedgerOptions } from './memory-ledger.js'
export { BLOCK_STORE_CHUNK_BYTES, BLOCK_STORE_HASHES_PER_CHUNK, createBlockStore, type BlockStore, type BlockStoreOptions } from './block-store.js'
export {
  BLOCK_HASH_DOMAIN,
  BODY_HASH_DOMAIN,
  HASH_BYTES,
  HASH_WRITER_BUFFER_BYTES,
  HashWriter,
  blockProblem,
  bodyHash,
  genesisBlock,
  hashBlock,
  isSealed,
  isUint64,
  isWellFormedString,
  sealTransactions,
  transactionProblem,
  useSha256,
  zeroHash,
  type Sha256Hasher,
} from './block-hash.js'
export {
  MAX_STATE_KEY_LENGTH,
  OPAQUE_KEY_PREFIX,
  STATE_HASH_DOMAIN,
  compareCodePoints,
  emptyStateHash,
  nextStateHash,
  sortWrites,
  transactionWrite,
} from './state-machine.js'
export {
  DEFAULT_FSYNC_CHECKPOINT_BLOCKS,
  DEFAULT_FSYNC_POLICY,
  FSYNC_POLICIES,
  LEDGER_STORE_FORMAT,
  openLedgerStore,
  type FsyncPolicy,
  type LedgerStore,
  type LedgerStoreOptions,
  type LedgerStoreStats,
  type LevelDatabase,
  type LevelOperation,
} from './ledger-store.js'
export type { PendingStore } from './pending-store.js'
export { TXID_GENERATION_SIZE, type CommittedTxidsOptions, type TxidIndex } from './committed-txids.js'
export { TXID_FILTER_BYTES } from './txid-filter.js'
export { STATE_GENERATION_SIZE } from './state-keys.js'
export type { KeyBlockEntries, KeyBlockIndex } from './key-block-index.js'
