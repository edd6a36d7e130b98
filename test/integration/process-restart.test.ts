/**
 * Peers as separate processes, as `wspeer start` runs them: one is killed with SIGKILL (no
 * goodbye on any link), the others notice, and the same peer restarted on the same port with an
 * empty ledger rejoins through its one bootstrap address and catches up to the same head.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { freePortRun } from '../support/ports.js'

const BIN = fileURLToPath(new URL('../../bin/wspeer.js', import.meta.url))
/** Four processes starting through tsx on a loaded 2-core machine. */
const UP_TIMEOUT_MS = 40_000
const children = new Set<ChildProcess>()

interface Status {
  peers: { id: string }[]
  chain: { height: number; headHash: string }
}

function startPeer(id: string, port: number, bootstrap?: number): ChildProcess {
  const args = [BIN, 'start', '--id', id, '--port', String(port), '--log-level', 'warn', '--discovery-period-ms', '300']
  args.push('--redial-base-ms', '100', '--redial-max-ms', '1000', '--consensus-options', '{"blockWaitMs":100}')
  if (bootstrap !== undefined) args.push('--peers', `ws://127.0.0.1:${bootstrap}/chat`)
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

async function status(port: number): Promise<Status | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`)
    return res.ok ? ((await res.json()) as Status) : undefined
  } catch {
    return undefined
  }
}

async function postTx(port: number, payload: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload }),
  })
  expect(res.status).toBe(202)
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

async function sameHead(ports: number[], minHeight: number): Promise<Status['chain']> {
  let chain!: Status['chain']
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

afterAll(() => {
  for (const child of children) child.kill('SIGKILL')
})

describe('peers in separate processes', () => {
  it('a peer killed with SIGKILL is dropped by the others, and rejoins and catches up after a restart', async () => {
    const base = await freePortRun(4)
    const ids = ['vp0', 'vp1', 'vp2', 'vp3']
    const ports = ids.map((_, i) => base + i)
    const procs = ids.map((id, i) => startPeer(id, ports[i]!, i === 0 ? undefined : base))
    await fullMesh(ports, ids)

    for (let i = 0; i < 20; i++) await postTx(ports[i % 4]!, `before${i}=1`)
    const before = await sameHead(ports, 2)

    procs[2]!.kill('SIGKILL')
    await vi.waitFor(
      async () => {
        for (const port of [ports[0]!, ports[1]!, ports[3]!]) expect((await status(port))?.peers.map((p) => p.id)).not.toContain('vp2')
      },
      { timeout: 20_000, interval: 100 },
    )
    // Work goes on without it.
    await postTx(ports[1]!, 'during=1')
    const during = await sameHead([ports[0]!, ports[1]!, ports[3]!], before.height + 1)

    startPeer('vp2', ports[2]!, base)
    await fullMesh(ports, ids)
    await postTx(ports[3]!, 'after=1')
    const after = await sameHead(ports, during.height + 1)
    expect(after.height).toBeGreaterThan(during.height)
  }, 120_000)
})
