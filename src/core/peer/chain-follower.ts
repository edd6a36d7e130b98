/**
 * How a peer that does not order blocks itself (a non-validator, a tab) keeps its chain: it applies
 * the blocks validators announce (SYNC_BLOCK_ADDED), fetching any gap before one first; it catches
 * up at once from a validator that links with a longer chain; and, when its follow work is done but
 * a linked validator claimed more, it catches up again (a fetch that failed would otherwise wait
 * for an announcement that may never come on a quiet network). One block source at a time: each
 * step runs after the ones before it, so blocks are applied in order.
 *
 * Every block goes through Ledger.applyBlock, which re-executes it and checks its hashes.
 *
 *   const follower = new ChainFollower(ledger, log, (peer, start, end, signal) => fetchFromPeer(...))
 *   follower.follow(block, { id: 'vp0', label: 'vp0@ws://...' })
 */
import { describeError } from '../errors.js'
import type { Ledger } from '../ledger/ledger.js'
import { pageBlocks, type FetchBlocks } from '../ledger/page-blocks.js'
import type { Logger } from '../util/logger.js'
import type { Block } from '../wire/payload-types.js'

export type { FetchBlocks } from '../ledger/page-blocks.js'

/** A linked peer blocks come from: its ID (for requests) and a label (for logs). */
export interface ChainSource {
  id: string
  label: string
}

export class ChainFollower {
  readonly #ledger: Ledger
  readonly #log: Logger
  readonly #fetchBlocks: FetchBlocks
  /** The last follow step queued; each runs after the one before. */
  #steps: Promise<void> = Promise.resolve()
  /** Steps queued or running. */
  #queued = 0

  constructor(ledger: Ledger, log: Logger, fetchBlocks: FetchBlocks) {
    this.#ledger = ledger
    this.#log = log
    this.#fetchBlocks = fetchBlocks
  }

  /** Whether follow work is queued or running. */
  get busy(): boolean {
    return this.#queued > 0
  }

  /** Resolves once the steps queued so far are done (failed ones included: each reports its own failure). */
  settled(): Promise<void> {
    return this.#steps
  }

  /** Catches up to `height` (a chain height) from `source`. */
  catchUp(source: ChainSource, height: number): void {
    if (height <= this.#ledger.height()) return
    this.#queue(
      async () => this.#applyAll(await this.fetchRange(source.id, this.#ledger.height(), height - 1)),
      (err) => this.#log.warn('could not catch up', { remotePeer: source.label, height, error: describeError(err) }),
    )
  }

  /** Applies an announced block, after fetching what lies between the chain's head and it. */
  follow(block: Block, source: ChainSource): void {
    this.#queue(
      async () => {
        const height = this.#ledger.height()
        if (block.number < height) return
        if (block.number > height) this.#applyAll(await this.fetchRange(source.id, height, block.number - 1))
        if (block.number === this.#ledger.height()) this.#ledger.applyBlock(block)
      },
      (err) => this.#log.warn('could not apply announced block', { remotePeer: source.label, number: block.number, error: describeError(err) }),
    )
  }

  /** With no follow work pending, catches up from the source that claimed the greatest height above the chain's. */
  retry(claims: Iterable<readonly [ChainSource, number]>): void {
    if (this.busy) return
    let best: ChainSource | undefined
    let bestHeight = this.#ledger.height()
    for (const [source, height] of claims) if (height > bestHeight) [best, bestHeight] = [source, height]
    if (best !== undefined) this.catchUp(best, bestHeight)
  }

  /** Blocks start..end from one peer, in as many requests as its per-answer cap needs; stops at a gap or an empty answer (page-blocks.ts). */
  async fetchRange(peerId: string, start: number, end: number, signal?: AbortSignal): Promise<Block[]> {
    const out: Block[] = []
    for await (const run of pageBlocks(this.#fetchBlocks, peerId, start, end, { signal })) for (const block of run.blocks) out.push(block)
    return out
  }

  /** Applies each block that is the next one (what another step applied meanwhile is skipped). */
  #applyAll(blocks: readonly Block[]): void {
    for (const block of blocks) if (block.number === this.#ledger.height()) this.#ledger.applyBlock(block)
  }

  #queue(work: () => Promise<void>, failed: (err: unknown) => void): void {
    this.#queued++
    this.#steps = this.#steps
      .then(work)
      .catch(failed)
      .finally(() => {
        this.#queued--
      })
  }
}
