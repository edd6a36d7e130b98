/**
 * State transfer for a replica that fell behind: fetch the blocks from its head up to a target
 * that f+1 replicas agree on (a checkpoint: a sequence number and the hash of the head block once
 * it is executed), check them as a hash chain starting at our head and ending at the target hash,
 * and apply them.
 *
 * Null requests make no block, so the target's block number is not known, only bounded: the head
 * after sequence number n is block n at most. Blocks are fetched from our height up to n and
 * checked link by link until one hashes to the target; a head that already is the target needs no
 * block at all.
 *
 * In: the Stack (its sync.fetchBlocks and ledger), the target, and the peers that vouched for it,
 * tried in order. Out: the blocks applied (for the caller to forget their requests; empty when the
 * head already was the target), or undefined when no peer served a chain that checks out. Nothing
 * is applied before the whole chain is checked, so a lying peer costs time, never state; the
 * ledger re-executes every block as well.
 *
 *   const applied = await transferState(stack, { n: 30, d }, ['vp1', 'vp2'], signal)
 */
import { LedgerError, describeError } from '../../errors.js'
import { pageBlocks } from '../../ledger/page-blocks.js'
import { toHex } from '../../util/bytes.js'
import type { Block } from '../../wire/payload-types.js'
import type { Stack } from '../consenter.js'

export interface TransferTarget {
  /** Sequence number to reach. */
  n: number
  /** Hex hash of the head block once n is executed (block number n or lower). */
  d: string
}

/** Fetch calls to one peer per transfer at most (default 64): with 1000 blocks a call, 64,000 blocks. */
export const PBFT_MAX_FETCHES_PER_PEER = 64

export async function transferState(stack: Stack, target: TransferTarget, peers: readonly string[], signal: AbortSignal): Promise<Block[] | undefined> {
  const { ledger, log } = stack
  if (toHex(ledger.headHash()) === target.d) return []
  for (const peer of peers) {
    if (signal.aborted) return undefined
    const from = ledger.height()
    if (from > target.n) return undefined
    let chain: Block[] | undefined
    try {
      chain = await fetchChain(stack, peer, from, target, signal)
    } catch (err) {
      log.debug('pbft state transfer: fetch failed', { peer, error: describeError(err) })
      continue
    }
    if (signal.aborted || ledger.height() !== from) return undefined
    if (chain === undefined) {
      log.warn('pbft state transfer: peer served blocks that do not reach the agreed checkpoint', { peer, target: target.n })
      continue
    }
    try {
      for (const block of chain) ledger.applyBlock(block)
    } catch (err) {
      if (!(err instanceof LedgerError)) throw err
      log.error('pbft state transfer: a checked block was refused by the ledger', { peer, error: err.message })
      return undefined
    }
    return chain
  }
  return undefined
}

/**
 * Blocks from `from` on, each linked to the hash of the one before (our head first), up to the one
 * hashing to the target; undefined when the peer's blocks stop or break the chain before it, or
 * PBFT_MAX_FETCHES_PER_PEER requests did not reach it. The paging and the link checks are
 * page-blocks.ts'; that a chain counts only once it reaches the target is this file's.
 */
async function fetchChain(stack: Stack, peer: string, from: number, target: TransferTarget, signal: AbortSignal): Promise<Block[] | undefined> {
  const { ledger, sync } = stack
  const blocks: Block[] = []
  const runs = pageBlocks((id, start, end) => sync.fetchBlocks(id, start, end, { signal }), peer, from, target.n, {
    signal,
    maxCalls: PBFT_MAX_FETCHES_PER_PEER,
    linkFrom: { previous: ledger.headHash(), hashBlock: (block) => ledger.hashBlock(block) },
  })
  for await (const run of runs) {
    const last = run.hashes.findIndex((hash) => toHex(hash) === target.d)
    if (last >= 0) return blocks.concat(run.blocks.slice(0, last + 1))
    for (const block of run.blocks) blocks.push(block)
  }
  return undefined
}
