import { afterEach, describe, expect, it, vi } from 'vitest'
import { startNodePeer, type NodePeer } from '../../src/node/index.js'
import { resolveConfig } from '../../src/node/config.js'
import { silentLogger } from '../../src/core/util/logger.js'

/**
 * Real peers over real WebSocket on loopback (ephemeral ports), in one process: discovery from a
 * single bootstrap address, transactions through the HTTP API, and a peer killed and restarted.
 */
const running = new Set<NodePeer>()

afterEach(async () => {
  await Promise.all([...running].map((p) => p.stop()))
  running.clear()
})

async function start(id: string, options: { port?: number; bootstrap?: string[] } = {}): Promise<NodePeer> {
  const config = resolveConfig({
    argv: [
      '--id', id,
      '--port', String(options.port ?? 0),
      '--consensus', 'noops',
      ...(options.bootstrap?.length ? ['--peers', options.bootstrap.join(',')] : []),
      // Faster than the defaults so the test spends its time on behaviour, not on waiting.
      '--discovery-period-ms', '200',
      '--redial-base-ms', '50',
      '--redial-max-ms', '400',
    ],
    env: {},
  })
  config.consensusOptions = { blockWaitMs: 50 }
  const node = await startNodePeer(config, { log: silentLogger })
  running.add(node)
  return node
}

async function allConnected(nodes: NodePeer[]): Promise<void> {
  await vi.waitFor(
    () => {
      for (const node of nodes) {
        const have = node.peer.status().peers.map((p) => p.id).sort()
        const want = nodes.filter((n) => n !== node).map((n) => n.peer.id).sort()
        expect(have, `${node.peer.id}'s peers`).toEqual(want)
      }
    },
    { timeout: 15_000, interval: 20 },
  )
}

async function postTx(node: NodePeer, payload: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${node.port}/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload }),
  })
  expect(res.status).toBe(202)
  const body = (await res.json()) as { txid: string }
  expect(body.txid).toMatch(/^[0-9a-f]{32}$/)
  return body.txid
}

async function sameChain(nodes: NodePeer[], transactions: number): Promise<{ height: number; headHash: string }> {
  let chain = { height: 0, headHash: '' }
  await vi.waitFor(
    async () => {
      const statuses = await Promise.all(
        nodes.map(async (n) => (await (await fetch(`http://127.0.0.1:${n.port}/status`)).json()) as { chain: typeof chain }),
      )
      for (const s of statuses) expect(s.chain).toEqual(statuses[0]!.chain)
      chain = statuses[0]!.chain
      for (const n of nodes) expect(n.peer.metrics().transactionsCommitted).toBe(transactions)
    },
    { timeout: 20_000, interval: 50 },
  )
  return chain
}

describe('a network of 4 Node peers on loopback', () => {
  it('peers started with one bootstrap address all reach each other, commit 200 transactions alike, and a restarted peer rejoins', async () => {
    const vp0 = await start('vp0')
    const others = await Promise.all(['vp1', 'vp2', 'vp3'].map((id) => start(id, { bootstrap: [vp0.address] })))
    const nodes = [vp0, ...others]
    await allConnected(nodes)

    const txids = new Set<string>()
    await Promise.all(Array.from({ length: 200 }, async (_, i) => txids.add(await postTx(nodes[i % 4]!, `k${i}=v${i}`))))
    expect(txids.size).toBe(200)
    const first = await sameChain(nodes, 200)
    expect(first.height).toBeGreaterThan(1)

    // Kill vp2 and start it again on the same port, with an empty ledger and only vp0 to bootstrap.
    const vp2 = nodes[2]!
    const port = vp2.port
    await vp2.stop()
    running.delete(vp2)
    await vi.waitFor(() => expect(vp0.peer.status().peers.map((p) => p.id)).not.toContain('vp2'), { timeout: 10_000, interval: 20 })
    const vp2again = await start('vp2', { port, bootstrap: [vp0.address] })
    const back = [vp0, nodes[1]!, vp2again, nodes[3]!]
    await allConnected(back)

    // New transactions commit everywhere; the restarted peer catches up on what it missed.
    await Promise.all(Array.from({ length: 20 }, (_, i) => postTx(back[i % 4]!, `after${i}=x`)))
    await vi.waitFor(
      () => {
        const chains = back.map((n) => n.peer.status().chain)
        for (const c of chains) expect(c).toEqual(chains[0])
        expect(chains[0]!.height).toBeGreaterThan(first.height)
      },
      { timeout: 20_000, interval: 50 },
    )
  })
})
