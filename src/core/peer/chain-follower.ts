/**
 * How a peer that does not order blocks itself (a non-validator, a tab) keeps its chain. It
 * climbs toward a *target*, the highest block it has reason to take, one step at a time (each step
 * runs after the ones before it, so blocks are applied in order):
 *
 * - **With a membership (verifying):** the target is the highest block `proofQuorum` validators
 *   signed (commit-proofs.ts). Announced blocks (SYNC_BLOCK_ADDED, from validators or relays) wait
 *   here, unapplied, until a proof covers them; what is missing below the target is fetched from
 *   the peer whose signature completed the proof. A step applies the blocks only when their hash
 *   chain, from this chain's head, ends at the proven hash: so neither a lying validator nor a relay
 *   can make a follower take a block the validators did not commit. Blocks that do not lead there
 *   are dropped and counted, and the next try fetches from another source.
 * - **Without one (open development mode):** there is nothing to verify against; the target is
 *   whatever a linked validator announced or claimed, as Fabric v0.6's peers did. Each block is
 *   still re-executed and hash-checked by Ledger.applyBlock.
 *
 * Unapplied blocks are bounded (`maxUnprovenBlocks`); one further above the chain is not kept.
 *
 *   const follower = new ChainFollower({ ledger, log, fetchBlocks, verifying: true })
 *   follower.follow(block, { id: 'vp0', label: 'vp0@ws://...' })    // SYNC_BLOCK_ADDED
 *   follower.proven(16, hash, { id: 'vp2', label: 'vp2@...' })       // SYNC_COMMIT_PROOF completed
 */
import { describeError } from '../errors.js'
import { hashBlock } from '../ledger/block-hash.js'
import type { Ledger } from '../ledger/ledger.js'
import { pageBlocks, type FetchBlocks } from '../ledger/page-blocks.js'
import { bytesEqual } from '../util/bytes.js'
import type { Logger } from '../util/logger.js'
import type { Block } from '../wire/payload-types.js'
import { DEFAULT_MAX_UNPROVEN_BLOCKS } from './limits.js'

export type { FetchBlocks } from '../ledger/page-blocks.js'

/** A linked peer blocks come from: its ID (for requests) and a label (for logs). */
export interface ChainSource {
  id: string
  label: string
}

export interface ChainFollowerOptions {
  ledger: Ledger
  log: Logger
  fetchBlocks: FetchBlocks
  /** Whether blocks need a validators' proof (a membership is known); otherwise announcements are trusted. */
  verifying: boolean
  maxUnprovenBlocks?: number
}

interface Target {
  number: number
  /** The proven hash of block `number`; absent when trusting. */
  hash?: Uint8Array
  source: ChainSource
}

export class ChainFollower {
  readonly #o: ChainFollowerOptions
  readonly #maxUnproven: number
  /** The last follow step queued; each runs after the one before. */
  #steps: Promise<void> = Promise.resolve()
  /** Steps queued or running. */
  #queued = 0
  #target: Target | undefined
  /** Announced blocks above the chain, not applied yet, by number. */
  readonly #unproven = new Map<number, { block: Block; source: ChainSource }>()
  #refused = 0
  /** Sources whose blocks did not lead to the current target: not asked again until it is reached. */
  readonly #distrusted = new Set<string>()

  constructor(options: ChainFollowerOptions) {
    this.#o = options
    this.#maxUnproven = options.maxUnprovenBlocks ?? DEFAULT_MAX_UNPROVEN_BLOCKS
  }

  /** Whether follow work is queued or running. */
  get busy(): boolean {
    return this.#queued > 0
  }

  /** Blocks refused because their chain did not lead to what the validators signed (or did not link to the head). */
  get refused(): number {
    return this.#refused
  }

  /** The highest block number this follower may take now (proven, or trusted); -1 when none. */
  get targetNumber(): number {
    return this.#target?.number ?? -1
  }

  /** Resolves once no step is queued or running, those queued meanwhile included (failed ones too: each reports its own failure). */
  async settled(): Promise<void> {
    let steps
    do {
      steps = this.#steps
      await steps
    } while (steps !== this.#steps)
  }

  /** A validator claimed a chain of `height` blocks (HELLO). Trusting, that is a target; verifying, only proofs are. */
  catchUp(source: ChainSource, height: number): void {
    if (this.#o.verifying || height <= this.#o.ledger.height()) return
    this.#raise({ number: height - 1, source })
  }

  /** An announced block: kept until it can be applied. */
  follow(block: Block, source: ChainSource): void {
    const height = this.#o.ledger.height()
    if (block.number < height) return
    if (block.number < height + this.#maxUnproven && !this.#unproven.has(block.number)) this.#unproven.set(block.number, { block, source })
    if (!this.#o.verifying) this.#raise({ number: block.number, source })
    else if (this.#target !== undefined && block.number <= this.#target.number) this.#queueAdvance()
  }

  /** `quorum` validators signed block `number` with hash `hash`; `source` can serve the blocks below it. */
  proven(number: number, hash: Uint8Array, source: ChainSource): void {
    if (number < this.#o.ledger.height()) return
    this.#raise({ number, hash, source })
  }

  /**
   * With no follow work pending, tries the target again (a fetch that failed, a link that dropped
   * mid-answer), from the source that claimed the greatest height when it claimed enough; trusting,
   * that claim can also raise the target.
   */
  retry(claims: Iterable<readonly [ChainSource, number]>): void {
    if (this.busy) return
    let best: ChainSource | undefined
    let bestHeight = this.#o.ledger.height()
    for (const [source, height] of claims) {
      if (height > bestHeight && !this.#distrusted.has(source.id)) [best, bestHeight] = [source, height]
    }
    if (best === undefined) return
    if (!this.#o.verifying) this.catchUp(best, bestHeight)
    const target = this.#target
    if (target !== undefined && target.number >= this.#o.ledger.height() && target.number < bestHeight) {
      this.#target = { ...target, source: best }
      this.#queueAdvance()
    }
  }

  /** Blocks start..end from one peer, in as many requests as its per-answer cap needs; stops at a gap or an empty answer (page-blocks.ts). */
  async fetchRange(peerId: string, start: number, end: number, signal?: AbortSignal): Promise<Block[]> {
    const out: Block[] = []
    for await (const run of pageBlocks(this.#o.fetchBlocks, peerId, start, end, { signal })) for (const block of run.blocks) out.push(block)
    return out
  }

  #raise(target: Target): void {
    const current = this.#target
    if (current !== undefined && current.number >= target.number && current.number >= this.#o.ledger.height()) {
      // The same target from a source not (yet) distrusted: it can serve the blocks instead.
      if (current.number === target.number && this.#distrusted.has(current.source.id) && !this.#distrusted.has(target.source.id)) {
        this.#target = { ...current, source: target.source }
        this.#queueAdvance()
      }
      return
    }
    this.#target = target
    this.#queueAdvance()
  }

  #queueAdvance(): void {
    // One queued step climbs as far as the target allows; more would only find nothing to do.
    if (this.#queued > 1) return
    this.#queued++
    this.#steps = this.#steps
      .then(() => this.#advance())
      .catch((err: unknown) => this.#o.log.warn('could not follow the chain', { target: this.#target?.number, error: describeError(err) }))
      .finally(() => {
        this.#queued--
      })
  }

  async #advance(): Promise<void> {
    const ledger = this.#o.ledger
    const target = this.#target
    if (target === undefined || target.number < ledger.height() || this.#distrusted.has(target.source.id)) return
    const from = ledger.height()
    // Held blocks where there are some; each run of missing ones fetched from the target's source.
    const blocks: Block[] = []
    let usedHeld = false
    for (let n = from; n <= target.number; ) {
      const held = this.#unproven.get(n)
      if (held !== undefined) {
        usedHeld = true
        blocks.push(held.block)
        n++
        continue
      }
      let end = n
      while (end < target.number && !this.#unproven.has(end + 1)) end++
      const fetched = await this.fetchRange(target.source.id, n, end)
      for (const block of fetched) blocks.push(block)
      if (fetched.length < end - n + 1) break
      n = end + 1
    }
    // The hash chain from the head: how many of the blocks link, and the hash of the last that does.
    let head = ledger.headHash()
    let linked = 0
    for (const block of blocks) {
      if (block.number !== from + linked || !bytesEqual(block.previousBlockHash, head)) break
      head = hashBlock(block)
      linked++
    }
    const reached = from + linked - 1 === target.number
    if (target.hash !== undefined && !(reached && bytesEqual(head, target.hash))) {
      if (linked === blocks.length && !reached) {
        // Only short of blocks (an answer cut short, a source behind): keep what links, try later.
        for (const block of blocks) if (!this.#unproven.has(block.number)) this.#unproven.set(block.number, { block, source: target.source })
        return
      }
      this.#refuse(from, target, blocks.length - linked || blocks.length, !usedHeld)
      return
    }
    for (let i = 0; i < linked; i++) {
      const block = blocks[i]!
      ledger.applyBlock(block)
      this.#unproven.delete(block.number)
    }
    for (const n of this.#unproven.keys()) if (n < ledger.height()) this.#unproven.delete(n)
    if (reached) this.#distrusted.clear()
    if (linked < blocks.length) this.#refuse(ledger.height(), target, blocks.length - linked, !usedHeld)
  }

  /**
   * Blocks from..target that do not lead to the target are dropped. Which of them is forged cannot
   * be told, so the next try fetches the whole range from the target's source; when the blocks all
   * came from that source already, the source itself lied and is not asked again until another
   * source reaches the target.
   */
  #refuse(from: number, target: Target, count: number, blameSource: boolean): void {
    const sources = new Set<string>()
    for (let n = from; n <= target.number; n++) {
      const held = this.#unproven.get(n)
      if (held !== undefined) sources.add(held.source.label)
      this.#unproven.delete(n)
    }
    sources.add(target.source.label)
    if (blameSource) this.#distrusted.add(target.source.id)
    else this.#queueAdvance()
    this.#refused += count
    this.#o.log.warn('refused blocks that do not lead to the proven block', {
      from,
      target: target.number,
      sources: [...sources].join(', '),
      verifying: this.#o.verifying,
    })
  }
}
