/**
 * noops' options: read from the peer's `consensusOptions`, defaults from constants.ts, checked as
 * every numeric setting is (util/integer-options.ts): a value that is not a positive integer is a
 * ConfigError at start, never silently replaced.
 */
import { ConfigError } from '../../errors.js'
import { resolveIntegerOptions } from '../../util/integer-options.js'
import type { ConsenterOptions } from '../consenter.js'
import {
  DEFAULT_NOOPS_BLOCK_MAX_BYTES,
  DEFAULT_NOOPS_BLOCK_SIZE,
  DEFAULT_NOOPS_BLOCK_WAIT_MS,
  DEFAULT_NOOPS_MAX_PENDING,
  DEFAULT_NOOPS_RETRY_MS,
} from './constants.js'

export interface NoopsOptions {
  /** Transactions per block at most; a full batch is cut at once. Default DEFAULT_NOOPS_BLOCK_SIZE (500). */
  blockSize: number
  /** A block is cut this long after its first pending transaction. Default DEFAULT_NOOPS_BLOCK_WAIT_MS (1000). */
  blockWaitMs: number
  /** UTF-8 bytes of transaction strings per block at most. Default DEFAULT_NOOPS_BLOCK_MAX_BYTES (512 KiB). */
  blockMaxBytes: number
  /** Transactions held (no leader, catching up, forwarded and unconfirmed). Default DEFAULT_NOOPS_MAX_PENDING (100,000). */
  maxPending: number
  /** Housekeeping period. Default DEFAULT_NOOPS_RETRY_MS (1000). */
  retryMs: number
}

export const DEFAULT_NOOPS_OPTIONS: Readonly<NoopsOptions> = Object.freeze({
  blockSize: DEFAULT_NOOPS_BLOCK_SIZE,
  blockWaitMs: DEFAULT_NOOPS_BLOCK_WAIT_MS,
  blockMaxBytes: DEFAULT_NOOPS_BLOCK_MAX_BYTES,
  maxPending: DEFAULT_NOOPS_MAX_PENDING,
  retryMs: DEFAULT_NOOPS_RETRY_MS,
})

/** Merges options onto the defaults. Returns the keys it did not know, for the caller to warn about. */
export function resolveNoopsOptions(options: ConsenterOptions = {}): { options: NoopsOptions; unknown: string[] } {
  // Numbers only: unlike PBFT's, noops' options have no flags of their own that would give text.
  const { values: resolved, unknown } = resolveIntegerOptions('noops option', DEFAULT_NOOPS_OPTIONS, options)
  // A larger block might not fit in one sync answer, and late joiners could never fetch it.
  if (resolved.blockMaxBytes > DEFAULT_NOOPS_BLOCK_MAX_BYTES) {
    throw new ConfigError(`noops option blockMaxBytes must be at most ${DEFAULT_NOOPS_BLOCK_MAX_BYTES} (a block fits in one sync answer), got ${resolved.blockMaxBytes}`)
  }
  return { options: resolved, unknown }
}
