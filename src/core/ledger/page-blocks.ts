/**
 * The one catch-up mechanism: blocks start..end from one peer, asked for in as many SYNC_GET_BLOCKS
 * round trips as its answer caps need, yielded as runs that continue the range with no gap. Its
 * three users keep their own policy (what to apply when, which peers to try, what to log):
 * peer/chain-follower.ts (`fetchRange`), consensus/noops (`#fetchUpTo`) and consensus/pbft
 * (state-transfer.ts, with `linkFrom` and `maxCalls`).
 *
 * Each answer gives one run: its blocks from the first on, while each is the number the range
 * needs next (and, with `linkFrom`, names the hash of the block before it and can be hashed). A
 * short answer is normal: the next request starts after the run. Paging ends:
 * - once the range is done (an answer may hold more than asked: what continues the run is kept);
 * - at an empty answer, or one whose first block does not continue the range (nothing is yielded);
 * - after a run the answer broke off (`broken`: a gap, a copy or an earlier block, a broken link);
 * - after `maxCalls` requests;
 * - at an aborted signal, checked before each request: AbortError, as the request itself would throw.
 * A failed request throws out of the loop. Nothing here touches a ledger: what the blocks are
 * worth (re-execution, hash checks on apply) stays with the caller.
 *
 *   for await (const run of pageBlocks(fetch, 'vp0', ledger.height(), 99, { signal })) apply(run.blocks)
 */
import { AbortError } from '../errors.js'
import { bytesEqual } from '../util/bytes.js'
import type { Block } from '../wire/payload-types.js'

/** One SYNC_GET_BLOCKS round trip: blocks start..end, as many as the peer's answer holds (maybe fewer). */
export type FetchBlocks = (peerId: string, start: number, end: number, signal?: AbortSignal) => Promise<readonly Block[]>

export interface PageBlocksOptions {
  /** Passed to every request; checked before each one. */
  signal?: AbortSignal
  /** Requests at most (default: no cap). */
  maxCalls?: number
  /** Blocks one request asks for at most (default: the rest of the range). Required with `end` Infinity (a probe). */
  blocksPerCall?: number
  /**
   * Checks the chain as well: the first block must name `previous` as its previous hash, each later
   * one the hash of the block before it (`hashBlock`, which may throw: that ends the run like a
   * broken link). Each run then carries its blocks' hashes.
   */
  linkFrom?: { previous: Uint8Array; hashBlock: (block: Block) => Uint8Array }
}

/** What one answer brought that continues the range. */
export interface BlockRun {
  /** Never empty; the first is the block the range needed next. */
  blocks: Block[]
  /** With `linkFrom`, the hash of each block, by position; otherwise empty. */
  hashes: Uint8Array[]
  /** The answer went on with a block that does not continue the run; paging ends with this run. */
  broken: boolean
}

export async function* pageBlocks(
  fetch: FetchBlocks,
  peerId: string,
  start: number,
  end: number,
  options: PageBlocksOptions = {},
): AsyncGenerator<BlockRun, void, undefined> {
  const { signal, maxCalls = Number.POSITIVE_INFINITY, blocksPerCall = Number.POSITIVE_INFINITY, linkFrom } = options
  const chain = linkFrom === undefined ? undefined : { ...linkFrom }
  let next = start
  for (let calls = 0; next <= end && calls < maxCalls; calls++) {
    if (signal?.aborted === true) throw new AbortError()
    const run = runOf(await fetch(peerId, next, Math.min(end, next + blocksPerCall - 1), signal), next, chain)
    if (run.blocks.length === 0) return
    next += run.blocks.length
    yield run
    if (run.broken) return
  }
}

/** The blocks of `answer` that continue the range from `next` (and the chain, whose `previous` moves along). */
function runOf(answer: readonly Block[], next: number, chain: PageBlocksOptions['linkFrom']): BlockRun {
  const run: BlockRun = { blocks: [], hashes: [], broken: false }
  for (const block of answer) {
    if (block.number !== next + run.blocks.length) return { ...run, broken: true }
    if (chain !== undefined) {
      const hash = linkedHash(block, chain)
      if (hash === undefined) return { ...run, broken: true }
      run.hashes.push(hash)
    }
    run.blocks.push(block)
  }
  return run
}

/** The block's hash when it names the chain's previous one (which it then becomes); else undefined. */
function linkedHash(block: Block, chain: NonNullable<PageBlocksOptions['linkFrom']>): Uint8Array | undefined {
  if (!bytesEqual(block.previousBlockHash, chain.previous)) return undefined
  try {
    return (chain.previous = chain.hashBlock(block))
  } catch {
    return undefined
  }
}
