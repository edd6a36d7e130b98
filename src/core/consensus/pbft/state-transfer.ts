/**
 * State transfer for a replica that fell behind: fetch the blocks from its head up to a target
 * that f+1 replicas agree on (a checkpoint: sequence number = block number, and that block's hash),
 * check them as a hash chain ending at the target and starting at our head, and apply them.
 *
 * In: the Stack (its sync.fetchBlocks and ledger), the target, and the peers that vouched for it,
 * tried in order. Out: the blocks applied (for the caller to forget their requests), or an empty
 * list when no peer served a chain that checks out. Nothing is applied before the whole chain is
 * checked, so a lying peer costs time, never state; the ledger re-executes every block as well.
 *
 *   const applied = await transferState(stack, { n: 30, d }, ['vp1', 'vp2'], signal)
 */
import { LedgerError, describeError } from '../../errors.js'
import { bytesEqual, toHex } from '../../util/bytes.js'
import type { Block } from '../../wire/payload-types.js'
import type { Stack } from '../consenter.js'

export interface TransferTarget {
  /** Sequence number = block number to reach. */
  n: number
  /** Hex hash of block n. */
  d: string
}

/** Fetch calls to one peer per transfer at most (default 64): with 1000 blocks a call, 64,000 blocks. */
export const PBFT_MAX_FETCHES_PER_PEER = 64

export async function transferState(stack: Stack, target: TransferTarget, peers: readonly string[], signal: AbortSignal): Promise<Block[]> {
  const { ledger, log } = stack
  for (const peer of peers) {
    if (signal.aborted) return []
    const from = ledger.height()
    if (from > target.n) return []
    const blocks: Block[] = []
    try {
      for (let calls = 0; from + blocks.length <= target.n && calls < PBFT_MAX_FETCHES_PER_PEER; calls++) {
        const start = from + blocks.length
        const got = await stack.sync.fetchBlocks(peer, start, target.n, { signal })
        let added = 0
        for (const block of got) {
          if (block.number !== start + added) break
          blocks.push(block)
          added++
        }
        if (added === 0) break
      }
    } catch (err) {
      log.debug('pbft state transfer: fetch failed', { peer, error: describeError(err) })
      continue
    }
    if (signal.aborted || ledger.height() !== from) return []
    if (!chainEndsAt(stack, blocks, target, ledger.headHash())) {
      log.warn('pbft state transfer: peer served blocks that do not reach the agreed checkpoint', { peer, target: target.n })
      continue
    }
    try {
      for (const block of blocks) ledger.applyBlock(block)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      log.error('pbft state transfer: a checked block was refused by the ledger', { peer, error: err.message })
      return []
    }
    return blocks
  }
  return []
}

/** Whether blocks form a chain from `head` to exactly the target hash. */
function chainEndsAt(stack: Stack, blocks: readonly Block[], target: TransferTarget, head: Uint8Array): boolean {
  const last = blocks[blocks.length - 1]
  if (last === undefined || last.number !== target.n) return false
  let expected: string = target.d
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i] as Block
    let hash: Uint8Array
    try {
      hash = stack.ledger.hashBlock(block)
    } catch {
      return false
    }
    if (toHex(hash) !== expected) return false
    expected = toHex(block.previousBlockHash)
  }
  return bytesEqual(head, (blocks[0] as Block).previousBlockHash)
}
