/**
 * noops' name, option defaults and message limits. README and PROTOCOL.md quote these constants;
 * change them here only.
 */

import { DEFAULT_MAX_BLOCK_BYTES } from '../../wire/block-size.js'

/** The registry name of this plugin. */
export const NOOPS_PLUGIN_NAME = 'noops'

/** Transactions per block at most (Fabric's `block.size`, default 500): a full batch is cut at once. */
export const DEFAULT_NOOPS_BLOCK_SIZE = 500
/** A block is cut this long after its first pending transaction arrived (Fabric's `block.wait`, default 1000 ms). */
export const DEFAULT_NOOPS_BLOCK_WAIT_MS = 1000
/**
 * Bytes of transaction strings (UTF-8 txid + payload + origin) per block at most (default and
 * ceiling 512 KiB, DEFAULT_MAX_BLOCK_BYTES), so a block fits in one sync answer and one frame. A
 * transaction larger than a smaller setting goes in a block of its own.
 */
export const DEFAULT_NOOPS_BLOCK_MAX_BYTES = DEFAULT_MAX_BLOCK_BYTES
/**
 * Transactions held while there is no leader, while catching up, or forwarded and not yet seen in a
 * block (default 100,000). Past it new transactions are dropped with a warning and counted.
 */
export const DEFAULT_NOOPS_MAX_PENDING = 100_000
/** Period of the housekeeping tick (default 1000 ms): forward held transactions, notice a leader change, catch up. */
export const DEFAULT_NOOPS_RETRY_MS = 1000

/**
 * Times a forwarded transaction is passed on at once (default 2: the origin's forward, plus one
 * re-forward by a peer whose view of the leader differs). A peer that gets it after that holds it
 * and forwards it on its next tick.
 */
export const NOOPS_MAX_FORWARD_HOPS = 2
/**
 * A height claim that could not be fetched is tried again `retryMs` x 2, 4, 8 ... after each failure
 * in a row, at most this many times `retryMs` apart (16: 16 s at the default tick).
 */
export const NOOPS_CLAIM_RETRY_MAX_FACTOR = 16
/**
 * Blocks a validator asks the leader for when it probes (a housekeeping tick with no block from the
 * leader and no greater height known): the serving peer's answer caps bound what comes back.
 */
export const NOOPS_PROBE_BLOCKS = 1000
