/**
 * pageBlocks on its own: a scripted peer answers each request, and the test reads which requests
 * were made and which runs came back. The three catch-ups built on it (chain follower, noops, PBFT
 * state transfer) are tested in their own files.
 */
import { describe, expect, it } from 'vitest'
import { AbortError } from '../../../src/core/errors.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { pageBlocks, type BlockRun, type FetchBlocks, type PageBlocksOptions } from '../../../src/core/ledger/page-blocks.js'
import { toHex } from '../../../src/core/util/bytes.js'
import type { Block } from '../../../src/core/wire/payload-types.js'

/** A chain of `blocks` blocks after genesis, one transaction each. */
function chain(blocks: number, tag = 'k'): Ledger {
  const ledger = createMemoryLedger()
  for (let i = 1; i <= blocks; i++) {
    ledger.beginTxBatch(`b${i}`)
    ledger.execTxs(`b${i}`, [{ txid: `${tag}${i}`, payload: `${tag}${i}=v`, timestamp: i, origin: 'vp0' }])
    ledger.commitTxBatch(`b${i}`, { timestamp: i, proposer: 'vp0' })
  }
  return ledger
}

const source = chain(12)
const block = (n: number): Block => source.getBlock(n)!
const blocks = (...numbers: number[]): Block[] => numbers.map(block)

interface Request {
  peer: string
  start: number
  end: number
  signal: AbortSignal | undefined
}

/** Answers request i with `answers[i]` (a function of the request, or a list); past the script, with nothing. */
function scripted(answers: (Block[] | ((start: number, end: number) => Block[] | Promise<Block[]>))[]): { fetch: FetchBlocks; requests: Request[] } {
  const requests: Request[] = []
  const fetch: FetchBlocks = (peer, start, end, signal) => {
    const answer = answers[requests.length]
    requests.push({ peer, start, end, signal })
    return Promise.resolve(typeof answer === 'function' ? answer(start, end) : (answer ?? []))
  }
  return { fetch, requests }
}

/** At most `cap` blocks an answer, from the source chain, as a peer that follows the protocol sends them. */
function honest(cap: number): { fetch: FetchBlocks; requests: Request[] } {
  return scripted(Array.from({ length: 100 }, () => (start: number, end: number) => source.getBlocks(start, end, cap)))
}

async function collect(fetch: FetchBlocks, start: number, end: number, options?: PageBlocksOptions): Promise<BlockRun[]> {
  const runs: BlockRun[] = []
  for await (const run of pageBlocks(fetch, 'vp0', start, end, options)) runs.push(run)
  return runs
}

const numbers = (runs: readonly BlockRun[]) => runs.map((run) => [run.blocks.map((b) => b.number), run.broken])
const ranges = (requests: readonly Request[]) => requests.map((r) => [r.start, r.end])

describe('pageBlocks', () => {
  it('pages a range in short answers, one run an answer, and asks no more once the range is done', async () => {
    const { fetch, requests } = honest(3)
    const runs = await collect(fetch, 2, 9)
    expect(numbers(runs)).toEqual([[[2, 3, 4], false], [[5, 6, 7], false], [[8, 9], false]])
    expect(ranges(requests)).toEqual([[2, 9], [5, 9], [8, 9]])
    expect(requests.every((r) => r.peer === 'vp0')).toBe(true)
    expect(runs.every((run) => run.hashes.length === 0)).toBe(true)
  })

  it('asks nothing for an empty range', async () => {
    const { fetch, requests } = honest(3)
    expect(await collect(fetch, 5, 4)).toEqual([])
    expect(requests).toEqual([])
  })

  it('ends at an empty answer', async () => {
    const { fetch, requests } = scripted([blocks(1, 2), []])
    expect(numbers(await collect(fetch, 1, 9))).toEqual([[[1, 2], false]])
    expect(ranges(requests)).toEqual([[1, 9], [3, 9]])
  })

  it('yields nothing and asks no more when an answer does not start with the block needed next', async () => {
    for (const [start, answer] of [
      [1, blocks(2, 3)],
      [1, blocks(0, 1, 2)],
      [2, blocks(1, 2)],
    ] as const) {
      const { fetch, requests } = scripted([answer, blocks(1, 2, 3)])
      expect(await collect(fetch, start, 9)).toEqual([])
      expect(requests).toHaveLength(1)
    }
  })

  it('ends with the run before a gap, a copy or an earlier block, marked broken', async () => {
    for (const [answer, kept] of [
      [blocks(3, 4, 6, 7), [3, 4]],
      [blocks(3, 4, 4, 5), [3, 4]],
      [blocks(3, 4, 2, 5), [3, 4]],
    ] as const) {
      const { fetch, requests } = scripted([answer, blocks(5, 6)])
      expect(numbers(await collect(fetch, 3, 9))).toEqual([[kept, true]])
      expect(requests).toHaveLength(1)
    }
  })

  it('keeps what continues the run past the end of the range, and asks no more', async () => {
    const { fetch, requests } = scripted([blocks(1, 2, 3, 4, 5)])
    expect(numbers(await collect(fetch, 1, 3))).toEqual([[[1, 2, 3, 4, 5], false]])
    expect(requests).toHaveLength(1)
  })

  it('stops after maxCalls requests, however much of the range is left', async () => {
    const { fetch, requests } = honest(2)
    expect(numbers(await collect(fetch, 1, 12, { maxCalls: 3 }))).toEqual([[[1, 2], false], [[3, 4], false], [[5, 6], false]])
    expect(ranges(requests)).toEqual([[1, 12], [3, 12], [5, 12]])
  })

  it('probes an open range blocksPerCall at a time until an answer brings nothing', async () => {
    const { fetch, requests } = honest(4)
    const runs = await collect(fetch, 7, Number.POSITIVE_INFINITY, { blocksPerCall: 5 })
    expect(numbers(runs)).toEqual([[[7, 8, 9, 10], false], [[11, 12], false]])
    expect(ranges(requests)).toEqual([[7, 11], [11, 15], [13, 17]])
  })

  it('passes the signal to every request, and stops before the next one once it is aborted', async () => {
    const controller = new AbortController()
    const { fetch, requests } = honest(2)
    const runs: BlockRun[] = []
    await expect(
      (async () => {
        for await (const run of pageBlocks(fetch, 'vp0', 1, 9, { signal: controller.signal })) {
          runs.push(run)
          controller.abort()
        }
      })(),
    ).rejects.toBeInstanceOf(AbortError)
    expect(numbers(runs)).toEqual([[[1, 2], false]])
    expect(requests).toHaveLength(1)
    expect(requests[0]!.signal).toBe(controller.signal)
    // Aborted before it starts: no request at all.
    const idle = honest(2)
    await expect(collect(idle.fetch, 1, 9, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
    expect(idle.requests).toEqual([])
  })

  it('lets a failed request out, after the runs before it', async () => {
    const runs: BlockRun[] = []
    const { fetch } = scripted([blocks(1, 2), () => Promise.reject(new Error('no answer'))])
    await expect(
      (async () => {
        for await (const run of pageBlocks(fetch, 'vp0', 1, 9)) runs.push(run)
      })(),
    ).rejects.toThrow('no answer')
    expect(numbers(runs)).toEqual([[[1, 2], false]])
  })

  describe('with linkFrom', () => {
    const linkFrom = (previous = source.blockHash(2)!) => ({ previous, hashBlock: (b: Block) => source.hashBlock(b) })

    it('checks each block names the hash of the one before, across answers, and gives each block its hash', async () => {
      const { fetch } = honest(3)
      const runs = await collect(fetch, 3, 8, { linkFrom: linkFrom() })
      expect(numbers(runs)).toEqual([[[3, 4, 5], false], [[6, 7, 8], false]])
      expect(runs.flatMap((run) => run.hashes.map((h) => toHex(h)))).toEqual([3, 4, 5, 6, 7, 8].map((n) => toHex(source.blockHash(n)!)))
    })

    it('ends with the run before a block that breaks the chain, marked broken', async () => {
      const forged: Block = { ...structuredClone(block(5)), previousBlockHash: new Uint8Array(32) }
      const { fetch, requests } = scripted([[block(3), block(4), forged, block(6)], blocks(5, 6)])
      const runs = await collect(fetch, 3, 8, { linkFrom: linkFrom() })
      expect(numbers(runs)).toEqual([[[3, 4], true]])
      expect(runs[0]!.hashes).toHaveLength(2)
      expect(requests).toHaveLength(1)
    })

    it('breaks the chain at an answer that does not continue it from the previous one', async () => {
      // The second answer's block 6 is another chain's: it names a hash the first answer did not end with.
      const { fetch, requests } = scripted([blocks(3, 4, 5), [chain(6, 'fork').getBlock(6)!]])
      expect(numbers(await collect(fetch, 3, 8, { linkFrom: linkFrom() }))).toEqual([[[3, 4, 5], false]])
      expect(requests).toHaveLength(2)
    })

    it('yields nothing when the first block does not name the given previous hash', async () => {
      const { fetch } = honest(3)
      expect(await collect(fetch, 3, 8, { linkFrom: linkFrom(source.blockHash(1)!) })).toEqual([])
    })

    it('ends the run at a block it cannot hash', async () => {
      const { fetch } = honest(4)
      const hashBlock = (b: Block) => {
        if (b.number === 5) throw new Error('malformed')
        return source.hashBlock(b)
      }
      expect(numbers(await collect(fetch, 3, 8, { linkFrom: { previous: source.blockHash(2)!, hashBlock } }))).toEqual([[[3, 4], true]])
    })
  })
})
