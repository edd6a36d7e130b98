/**
 * The noops plugin: one leader (the smallest validator ID) cuts blocks; everyone else forwards
 * transactions to it and applies its blocks. No fault tolerance; see noops-consenter.ts.
 */
export * from './constants.js'
export { createNoopsConsenter, type NoopsConsenter, type NoopsStatus } from './noops-consenter.js'
export { decodeNoopsMessage, encodeNoopsMessage, type NoopsBlockMessage, type NoopsMessage, type NoopsTxMessage } from './noops-messages.js'
export { DEFAULT_NOOPS_OPTIONS, resolveNoopsOptions, type NoopsOptions } from './noops-options.js'
