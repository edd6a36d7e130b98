/**
 * PBFT's configuration: named defaults (Fabric v0.6 obcpbft's), and `resolvePbftConfig`, which
 * turns the peer's `consensusOptions` into a checked PbftConfig. The validator set and each
 * validator's replica index come from here (`validators`, index = position), never from peer names.
 *
 * In: a ConsenterOptions object (from flags, WSPEER_PBFT_* variables or the config file, merged by
 * the node layer). Out: a frozen PbftConfig, or a ConfigError naming the bad option.
 *
 *   const { config, unknown } = resolvePbftConfig({ validators: ['vp0', 'vp1', 'vp2', 'vp3'] })
 *   config.f // 1
 */
import { ConfigError } from '../../errors.js'
import { resolveIntegerOptions, type IntegerRule } from '../../util/integer-options.js'
import { DEFAULT_MAX_BLOCK_BYTES } from '../../wire/block-size.js'
import { MAX_TX_PAYLOAD_BYTES } from '../../wire/codec-limits.js'
import type { ConsenterOptions } from '../consenter.js'

/** The registry name of this plugin. */
export const PBFT_PLUGIN_NAME = 'pbft'

/** Sequence numbers between checkpoints (Fabric's `general.K`, default 10). */
export const DEFAULT_PBFT_K = 10
/** Log size L = K * logMultiplier: the window above the low watermark (default 4, so L = 40). */
export const DEFAULT_PBFT_LOG_MULTIPLIER = 4
/** Transactions per batch at most; a full batch is cut at once (default 500). */
export const DEFAULT_PBFT_BATCH_SIZE = 500
/**
 * UTF-8 bytes of a batch's transaction strings at most (default DEFAULT_MAX_BLOCK_BYTES, 512 KiB):
 * the primary cuts a batch here too, so a block always fits in one sync answer and one frame.
 * Between MAX_TX_PAYLOAD_BYTES + 1 KiB (the largest transaction fits) and the default.
 */
export const DEFAULT_PBFT_BATCH_MAX_BYTES = DEFAULT_MAX_BLOCK_BYTES
/** The smallest batchMaxBytes allowed: room for the largest transaction a client may submit. */
export const PBFT_MIN_BATCH_MAX_BYTES = MAX_TX_PAYLOAD_BYTES + 1024
/** The primary cuts a partial batch this long after its oldest unassigned request (default 1000 ms). */
export const DEFAULT_PBFT_BATCH_TIMEOUT_MS = 1000
/** A backup asks for a view change when an outstanding request makes no progress this long (default 2000 ms). */
export const DEFAULT_PBFT_REQUEST_TIMEOUT_MS = 2000
/** A view change that gathered 2f+1 votes but no new-view in this long moves to the next view (default 2000 ms, doubled per failed view change). */
export const DEFAULT_PBFT_VIEW_CHANGE_TIMEOUT_MS = 2000
/** A replica in a view change re-sends its view-change message this often (default 2000 ms). */
export const DEFAULT_PBFT_RESEND_VIEW_CHANGE_MS = 2000
/**
 * An idle primary pre-prepares a null request after this long without a pre-prepare, and a backup
 * that hears none for this plus requestTimeoutMs asks for a view change, so a dead primary is found
 * without client traffic (Fabric's `nullrequest`; default 0: off).
 */
export const DEFAULT_PBFT_NULL_REQUEST_MS = 0
/**
 * A request a backup could not forward because it has no link to the primary yet (a restarted
 * validator answers its HTTP API a few ms before it links to the others) is tried again this often
 * (default 100 ms), until it goes, the view changes or it commits.
 */
export const DEFAULT_PBFT_FORWARD_RETRY_MS = 100
/** Outstanding client requests held per replica at most (default 100,000); more are dropped and counted. */
export const DEFAULT_PBFT_MAX_OUTSTANDING = 100_000
/** The view-change timeout doubles per failed view change, up to this factor (default 8). */
export const PBFT_MAX_VIEW_CHANGE_BACKOFF = 8
/** Messages of the current view held while the new-view is awaited (default 4096), replayed after it. */
export const PBFT_MAX_EARLY_MESSAGES = 4096
/** Replicas at most (default 256): quorum counting assumes a small set. */
export const PBFT_MAX_REPLICAS = 256

export interface PbftConfig {
  /** Validator peer IDs; replica index = position. Required. */
  validators: readonly string[]
  /** Replicas (validators.length). */
  n: number
  /** Faults tolerated; default floor((N - 1) / 3); must satisfy N >= 3f + 1. */
  f: number
  /** Checkpoint period. Default DEFAULT_PBFT_K (10). */
  k: number
  /** L = k * logMultiplier. Default DEFAULT_PBFT_LOG_MULTIPLIER (4). */
  logMultiplier: number
  /** Default DEFAULT_PBFT_BATCH_SIZE (500). */
  batchSize: number
  /** Default DEFAULT_PBFT_BATCH_MAX_BYTES (512 KiB). */
  batchMaxBytes: number
  /** Default DEFAULT_PBFT_BATCH_TIMEOUT_MS (1000). */
  batchTimeoutMs: number
  /** Default DEFAULT_PBFT_REQUEST_TIMEOUT_MS (2000); forced above batchTimeoutMs, as Fabric did. */
  requestTimeoutMs: number
  /** Default DEFAULT_PBFT_VIEW_CHANGE_TIMEOUT_MS (2000). */
  viewChangeTimeoutMs: number
  /** Default DEFAULT_PBFT_RESEND_VIEW_CHANGE_MS (2000). */
  resendViewChangeMs: number
  /** Default DEFAULT_PBFT_NULL_REQUEST_MS (0, off). */
  nullRequestMs: number
  /** Default DEFAULT_PBFT_MAX_OUTSTANDING (100,000). */
  maxOutstanding: number
  /** Default DEFAULT_PBFT_FORWARD_RETRY_MS (100). */
  forwardRetryMs: number
}

/** nullRequestMs 0 turns null requests off; f 0 is a network that tolerates no fault. */
const ZERO_OR_MORE: IntegerRule = { min: 0 }

export const DEFAULT_PBFT_OPTIONS = Object.freeze({
  k: DEFAULT_PBFT_K,
  logMultiplier: DEFAULT_PBFT_LOG_MULTIPLIER,
  batchSize: DEFAULT_PBFT_BATCH_SIZE,
  batchMaxBytes: DEFAULT_PBFT_BATCH_MAX_BYTES,
  batchTimeoutMs: DEFAULT_PBFT_BATCH_TIMEOUT_MS,
  requestTimeoutMs: DEFAULT_PBFT_REQUEST_TIMEOUT_MS,
  viewChangeTimeoutMs: DEFAULT_PBFT_VIEW_CHANGE_TIMEOUT_MS,
  resendViewChangeMs: DEFAULT_PBFT_RESEND_VIEW_CHANGE_MS,
  nullRequestMs: DEFAULT_PBFT_NULL_REQUEST_MS,
  maxOutstanding: DEFAULT_PBFT_MAX_OUTSTANDING,
  forwardRetryMs: DEFAULT_PBFT_FORWARD_RETRY_MS,
})

/** The log size L (sequence numbers above the low watermark a replica accepts). */
export function logSize(config: Pick<PbftConfig, 'k' | 'logMultiplier'>): number {
  return config.k * config.logMultiplier
}

function parseValidators(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value
  if (!Array.isArray(list) || list.length === 0 || !list.every((id) => typeof id === 'string' && id.length > 0 && id.length <= 128)) {
    throw new ConfigError('pbft option validators must be a non-empty list of peer IDs (e.g. ["vp0","vp1","vp2","vp3"])')
  }
  if (new Set(list).size !== list.length) throw new ConfigError('pbft option validators lists a peer twice')
  if (list.length > PBFT_MAX_REPLICAS) throw new ConfigError(`pbft supports at most ${PBFT_MAX_REPLICAS} validators`)
  return list as string[]
}

/** Merges options onto the defaults and checks them. Returns the keys it did not know, for a warning. */
export function resolvePbftConfig(options: ConsenterOptions = {}): { config: PbftConfig; unknown: string[] } {
  const validators = parseValidators(options.validators)
  const n = validators.length
  // f is the one numeric option without a default: it follows from N unless given.
  const { values, unknown } = resolveIntegerOptions('pbft option', { ...DEFAULT_PBFT_OPTIONS, f: Math.floor((n - 1) / 3) }, options, {
    rules: { f: ZERO_OR_MORE, nullRequestMs: ZERO_OR_MORE },
    digits: true,
    skip: ['validators'],
  })
  const { f, ...merged } = values
  if (n < 3 * f + 1) throw new ConfigError(`pbft needs N >= 3f + 1 validators; got N = ${n}, f = ${f}`)
  if (merged.batchMaxBytes < PBFT_MIN_BATCH_MAX_BYTES || merged.batchMaxBytes > DEFAULT_PBFT_BATCH_MAX_BYTES) {
    throw new ConfigError(
      `pbft option batchMaxBytes must be between ${PBFT_MIN_BATCH_MAX_BYTES} (the largest transaction fits) and ${DEFAULT_PBFT_BATCH_MAX_BYTES} (a block fits in one sync answer), got ${merged.batchMaxBytes}`,
    )
  }
  const config: PbftConfig = {
    validators: Object.freeze([...validators]),
    n,
    f,
    ...merged,
    requestTimeoutMs: Math.max(merged.requestTimeoutMs, merged.batchTimeoutMs + 1),
  }
  return { config: Object.freeze(config), unknown }
}
