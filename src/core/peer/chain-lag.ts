/**
 * How far a peer's chain trails the network as its links tell it (issue #16): for a follower (a
 * tab) the one figure that says whether it keeps up, now that it links to a few peers and may have
 * announcements skipped while it is slow (best-effort.ts). In: the reported height, the heights
 * linked peers last claimed (HELLO, announcements; block-sync.ts), the head block's proposer
 * timestamp. Out: the lag in blocks and, when behind, in time.
 *
 *   chainLag(9, [9, 12], () => head.timestamp, clock.now())  // { claimedHeight: 12, blocks: 3, ms: now - head.timestamp }
 */

export interface ChainLag {
  /** The highest chain height a linked peer claimed, or our own when that is higher (or none is linked). */
  claimedHeight: number
  /** Blocks between our reported head and claimedHeight; 0 when in step. */
  blocks: number
  /**
   * When behind: ms since our head block was proposed (its timestamp), a bound on how stale what
   * this peer shows is. null when in step, or when the head is the genesis block (no proposer time).
   */
  ms: number | null
}

export function chainLag(height: number, claimed: Iterable<number>, headTimestamp: () => number | undefined, now: number): ChainLag {
  let claimedHeight = height
  for (const h of claimed) if (h > claimedHeight) claimedHeight = h
  const blocks = claimedHeight - height
  if (blocks === 0 || height <= 1) return { claimedHeight, blocks, ms: null }
  const at = headTimestamp()
  return { claimedHeight, blocks, ms: at === undefined ? null : Math.max(0, now - at) }
}
