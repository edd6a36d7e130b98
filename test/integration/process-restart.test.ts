/**
 * Peers as separate processes, as `wspeer start` runs them: one is killed with SIGKILL (no
 * goodbye on any link), the others notice, and the same peer restarted on the same port with the
 * ledger it had written rejoins through its one bootstrap address and catches up to the same head.
 */
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { freePortRun } from '../support/ports.js'
import { PeerProcesses, postTx, statusOf, type PeerStatusView } from '../support/peer-process.js'

/** Four processes starting through tsx on a loaded 2-core machine. */
const UP_TIMEOUT_MS = 40_000
const procs = new PeerProcesses()
const status = statusOf

function startPeer(id: string, port: number, bootstrap?: number): ChildProcess {
  const args = ['--log-level', 'warn', '--discovery-period-ms', '300', '--redial-base-ms', '100', '--redial-max-ms', '1000']
  args.push('--consensus-options', '{"blockWaitMs":100}')
  if (bootstrap !== undefined) args.push('--peers', `ws://127.0.0.1:${bootstrap}/chat`)
  return procs.start(id, port, args)
}

async function submit(port: number, payload: string): Promise<void> {
  expect(await postTx(port, payload)).toBe(true)
}

async function fullMesh(ports: number[], ids: string[]): Promise<void> {
  await vi.waitFor(
    async () => {
      for (const [i, port] of ports.entries()) {
        const s = await status(port)
        expect(s?.peers.map((p) => p.id).sort(), `peers of ${ids[i]}`).toEqual(ids.filter((_, j) => j !== i))
      }
    },
    { timeout: UP_TIMEOUT_MS, interval: 100 },
  )
}

async function sameHead(ports: number[], minHeight: number): Promise<PeerStatusView['chain']> {
  let chain!: PeerStatusView['chain']
  await vi.waitFor(
    async () => {
      const chains = await Promise.all(ports.map(async (p) => (await status(p))?.chain))
      for (const c of chains) expect(c).toEqual(chains[0])
      expect(chains[0]!.height).toBeGreaterThanOrEqual(minHeight)
      chain = chains[0]!
    },
    { timeout: 20_000, interval: 100 },
  )
  return chain
}

afterAll(() => procs.killAll())

describe('peers in separate processes', () => {
  it('a peer killed with SIGKILL is dropped by the others, and rejoins and catches up after a restart', async () => {
    const base = await freePortRun(4)
    const ids = ['vp0', 'vp1', 'vp2', 'vp3']
    const ports = ids.map((_, i) => base + i)
    const children = ids.map((id, i) => startPeer(id, ports[i]!, i === 0 ? undefined : base))
    await fullMesh(ports, ids)

    for (let i = 0; i < 20; i++) await submit(ports[i % 4]!, `before${i}=1`)
    const before = await sameHead(ports, 2)

    children[2]!.kill('SIGKILL')
    await vi.waitFor(
      async () => {
        for (const port of [ports[0]!, ports[1]!, ports[3]!]) expect((await status(port))?.peers.map((p) => p.id)).not.toContain('vp2')
      },
      { timeout: 20_000, interval: 100 },
    )
    // Work goes on without it.
    await submit(ports[1]!, 'during=1')
    const during = await sameHead([ports[0]!, ports[1]!, ports[3]!], before.height + 1)

    startPeer('vp2', ports[2]!, base)
    await fullMesh(ports, ids)
    await submit(ports[3]!, 'after=1')
    const after = await sameHead(ports, during.height + 1)
    expect(after.height).toBeGreaterThan(during.height)
  }, 120_000)
})
