/**
 * The consensus layer. In: messages from the engine (`recvMsg`, one at a time) and the Stack the
 * peer lends. Out: blocks committed to the ledger and messages sent through the Stack. Plugins are
 * chosen by name through the registry; unknown names fail loudly.
 */
export type {
  BroadcastTarget,
  Consenter,
  ConsenterFactory,
  ConsenterOptions,
  NetworkInfo,
  PeerInfo,
  Stack,
  SyncHooks,
} from './consenter.js'
export { builtinConsenters, consenterNames, createConsenter, registerConsenter } from './registry.js'
export type { ConsensusLog } from './consensus-log.js'
export { createMemoryConsensusLog, type MemoryConsensusLog, type MemoryConsensusLogOptions, type MemorySegment } from './memory-consensus-log.js'
export * from './noops/index.js'
export * from './pbft/index.js'
