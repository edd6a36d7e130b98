import { afterEach, describe, expect, it, vi } from 'vitest'
import { startNodePeer, type NodePeer } from '../../src/node/index.js'
import { resolveConfig } from '../../src/node/config.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/core/peer/limits.js'

/**
 * Peers that join late, or restart with an empty ledger, catch up whatever the blocks hold
 * (issue #14). Before sync answers were cut by bytes, an answer of 50 full blocks outgrew the
 * 1 MiB frame, the answering peer logged ERR_MESSAGE_TOO_LARGE, and the asker stayed behind for
 * good. Real peers over real WebSockets on loopback, in one process.
 */
const running = new Set<NodePeer>()

afterEach(async () => {
  await Promise.all([...running].map((p) => p.stop()))
  running.clear()
})

type Consensus = 'noops' | 'pbft'
const VALIDATORS = ['vp0', 'vp1', 'vp2', 'vp3']

async function start(id: string, consensus: Consensus, options: { role?: 'validator' | 'non-validator'; bootstrap?: string[]; blockSize: number }): Promise<NodePeer> {
  const config = resolveConfig({
    argv: [
      '--id', id,
      '--port', '0',
      '--role', options.role ?? 'validator',
      '--consensus', consensus,
      ...(options.bootstrap?.length ? ['--peers', options.bootstrap.join(',')] : []),
      ...(consensus === 'pbft' ? ['--validators', VALIDATORS.join(','), '--pbft-batch-size', String(options.blockSize), '--pbft-batch-timeout-ms', '50'] : []),
      '--discovery-period-ms', '200',
      '--redial-base-ms', '50',
      '--redial-max-ms', '400',
      // The load below arrives faster than a validator's default queue would take it.
      '--queue-max-messages', '100000',
      '--queue-max-bytes', String(256 * 1024 * 1024),
      '--local-queue-max-messages', '100000',
    ],
    env: {},
  })
  if (consensus === 'noops') config.consensusOptions = { blockWaitMs: 50, blockSize: options.blockSize }
  const node = await startNodePeer(config, { log: silentLogger })
  running.add(node)
  return node
}

const addressOf = (node: NodePeer): string => node.address

async function startValidators(consensus: Consensus, count: number, blockSize: number): Promise<NodePeer[]> {
  const first = await start('vp0', consensus, { blockSize })
  const rest = await Promise.all(VALIDATORS.slice(1, count).map((id) => start(id, consensus, { blockSize, bootstrap: [addressOf(first)] })))
  const all = [first, ...rest]
  await vi.waitFor(
    () => {
      for (const node of all) expect(node.peer.status().peers.filter((p) => p.role === 'validator')).toHaveLength(count - 1)
    },
    { timeout: 15_000, interval: 20 },
  )
  return all
}

/** Submits `count` transactions of `bytes` payload bytes and waits until `at` has committed them all. */
async function load(at: NodePeer[], count: number, bytes: number): Promise<void> {
  const before = at[0]!.peer.metrics().transactionsCommitted
  const filler = 'x'.repeat(Math.max(0, bytes - 12))
  for (let i = 0; i < count; i++) await at[i % at.length]!.peer.submit(`${String(i).padStart(10, '0')}=${filler}`)
  await vi.waitFor(() => expect(at[0]!.peer.metrics().transactionsCommitted - before).toBe(count), { timeout: 60_000, interval: 50 })
}

async function caughtUp(joiner: NodePeer, reference: NodePeer, timeout = 30_000): Promise<void> {
  await vi.waitFor(() => expect(joiner.peer.status().chain, `${joiner.peer.id} caught up with ${reference.peer.id}`).toEqual(reference.peer.status().chain), { timeout, interval: 50 })
}

/** The chain holds more than one frame's worth of blocks: the old 50-block answer could not carry it. */
function expectOverOneFrame(node: NodePeer, blocks: number): void {
  expect(node.peer.status().chain.height).toBeGreaterThanOrEqual(blocks + 1)
}

describe.each<Consensus>(['noops', 'pbft'])('late joiners on %s catch up whatever the blocks hold', (consensus) => {
  const validators = consensus === 'pbft' ? 4 : 2

  it('after blocks of 2,000 transactions: a non-validator and a restarted validator', { timeout: 120_000 }, async () => {
    const nodes = await startValidators(consensus, validators, 2000)
    // Three blocks of 2,000 transactions of 200 bytes: about 1.4 MB of blocks.
    await load(nodes, 6000, 200)
    expectOverOneFrame(nodes[0]!, 3)
    const follower = await start('nv0', consensus, { role: 'non-validator', blockSize: 2000, bootstrap: [addressOf(nodes[0]!)] })
    await caughtUp(follower, nodes[0]!)
    // The last validator restarts with an empty ledger (in memory) and is caught up by the others.
    const last = nodes[nodes.length - 1]!
    await last.stop()
    running.delete(last)
    const restarted = await start(last.peer.id, consensus, { blockSize: 2000, bootstrap: [addressOf(nodes[0]!)] })
    await load(nodes.slice(0, -1), 10, 200)
    await caughtUp(restarted, nodes[0]!)
    await caughtUp(follower, nodes[0]!)
  })

  it('after 200 KB transactions: a non-validator and a restarted validator', { timeout: 120_000 }, async () => {
    const nodes = await startValidators(consensus, validators, 500)
    await load(nodes, 15, 200 * 1024)
    // Two such transactions fill a block: seven or more blocks, each far from fitting 50 to a frame.
    expect(15 * 200 * 1024).toBeGreaterThan(2 * DEFAULT_MAX_FRAME_BYTES)
    expectOverOneFrame(nodes[0]!, 7)
    const follower = await start('nv0', consensus, { role: 'non-validator', blockSize: 500, bootstrap: [addressOf(nodes[0]!)] })
    await caughtUp(follower, nodes[0]!)
    const last = nodes[nodes.length - 1]!
    await last.stop()
    running.delete(last)
    const restarted = await start(last.peer.id, consensus, { blockSize: 500, bootstrap: [addressOf(nodes[0]!)] })
    await load(nodes.slice(0, -1), 2, 200 * 1024)
    await caughtUp(restarted, nodes[0]!)
  })
})

describe('pbft state transfer across more than 50 full blocks', () => {
  it('brings a replica that missed 60 full blocks of 2 KB transactions up to the head', { timeout: 120_000 }, async () => {
    const nodes = await startValidators('pbft', 4, 10)
    const lagging = nodes[3]!
    await lagging.stop()
    running.delete(lagging)
    // 60 blocks of 10 transactions of 2 KB each: over 1 MiB in 50 blocks.
    await load(nodes.slice(0, 3), 600, 2 * 1024)
    expectOverOneFrame(nodes[0]!, 60)
    const back = await start('vp3', 'pbft', { blockSize: 10, bootstrap: [addressOf(nodes[0]!)] })
    await load(nodes.slice(0, 3), 20, 2 * 1024)
    await caughtUp(back, nodes[0]!)
  })
})
