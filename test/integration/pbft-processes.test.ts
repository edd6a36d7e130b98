/**
 * PBFT across four `wspeer start` processes on loopback: transactions flow in under load, the
 * primary is killed with SIGKILL, the others change view and go on committing, and the killed
 * peer restarts with an empty ledger and catches up to the same head. The restarted peer joins
 * the others' view, so transactions posted to it as soon as its API answers commit, and with it
 * voting one more validator can pause (SIGSTOP) without stalling commits; then a backup is
 * killed and restarted the same way. Every transaction accepted by a peer that was not killed
 * afterwards commits exactly once.
 */
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { freePortRun } from '../support/ports.js'
import { PeerProcesses, postTx, statusOf } from '../support/peer-process.js'

const IDS = ['vp0', 'vp1', 'vp2', 'vp3']
/** Shorter than the defaults so a view change takes about two seconds, not four. */
const PBFT_OPTIONS = { validators: IDS, batchTimeoutMs: 100, requestTimeoutMs: 1000, viewChangeTimeoutMs: 1000, resendViewChangeMs: 1000 }
const procs = new PeerProcesses()
const status = statusOf

function startPeer(id: string, port: number, bootstrap: number): ChildProcess {
  const args = ['--log-level', 'error', '--consensus', 'pbft', '--consensus-options', JSON.stringify(PBFT_OPTIONS)]
  args.push('--discovery-period-ms', '300', '--redial-base-ms', '100', '--redial-max-ms', '1000')
  if (port !== bootstrap) args.push('--peers', `ws://127.0.0.1:${bootstrap}/chat`)
  return procs.start(id, port, args)
}

async function committed(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return Number(/^wspeer_transactions_committed_total\{[^}]*\} (\d+)$/m.exec(text)?.[1] ?? NaN)
}

/**
 * Waits, under load, until the peer is within a few blocks of vp1: a replica that restarted catches
 * up by state transfer, and only the load's checkpoints tell it how far to go (a replica less than
 * K blocks behind on an idle network learns of it only from the next traffic).
 */
async function caughtUp(port: number, leader: number): Promise<void> {
  await vi.waitFor(
    async () => {
      const lead = (await status(leader))!.chain.height
      expect((await status(port))?.chain.height).toBeGreaterThanOrEqual(lead - 3)
    },
    { timeout: 40_000, interval: 100 },
  )
}
afterAll(() => procs.killAll())

describe('PBFT in separate processes', () => {
  it('survives a SIGKILL of the primary under load; the restarted peer catches up', async () => {
    const base = await freePortRun(4)
    const ports = IDS.map((_, i) => base + i)
    const children = IDS.map((id, i) => startPeer(id, ports[i]!, base))
    await vi.waitFor(
      async () => {
        for (const port of ports) expect((await status(port))?.peers).toHaveLength(3)
      },
      { timeout: 40_000, interval: 100 },
    )
    expect((await status(ports[1]!))?.consensus.primaryId).toBe('vp0')

    // Load on the backups only, so every accepted request is known to a surviving replica.
    let accepted = 0
    let sent = 0
    let loading = true
    let targets = [1, 2, 3]
    let rounds = 0
    const load = (async () => {
      while (loading) {
        rounds++
        const batch = await Promise.all(targets.map((i) => postTx(ports[i]!, `load${sent++}=${i}`)))
        accepted += batch.filter(Boolean).length
      }
    })()
    await vi.waitFor(async () => expect((await status(ports[1]!))!.chain.height).toBeGreaterThan(3), { timeout: 20_000, interval: 50 })

    children[0]!.kill('SIGKILL')
    const heightAtKill = (await status(ports[1]!))!.chain.height
    // A view change moves the primary off vp0 and commits resume.
    await vi.waitFor(
      async () => {
        const s = (await status(ports[1]!))!
        expect(s.consensus.view).toBeGreaterThan(0)
        expect(s.chain.height).toBeGreaterThan(heightAtKill + 2)
      },
      { timeout: 30_000, interval: 100 },
    )

    // The restarted replica learns it is behind from the traffic it sees (checkpoints, sequence
    // numbers past its watermarks), so the load goes on until it has caught up by state transfer.
    startPeer('vp0', ports[0]!, ports[1]!)
    // Posted the moment its API answers, before it has linked to anyone: it keeps them (202) and
    // forwards them once it is linked to the primary and in its view.
    await vi.waitFor(async () => expect(await status(ports[0]!)).toBeDefined(), { timeout: 40_000, interval: 5 })
    for (let i = 0; i < 5; i++) if (await postTx(ports[0]!, `early${i}=1`)) accepted++
    const view = (await status(ports[1]!))!.consensus.view
    await vi.waitFor(async () => expect((await status(ports[0]!))?.consensus).toMatchObject({ view, active: true }), { timeout: 10_000, interval: 50 })
    await caughtUp(ports[0]!, ports[1]!)

    // vp2 pauses: vp0, vp1 and vp3 still make 2f+1 in this view, so commits go on without a view change.
    targets = [1, 3]
    // Once a round has started after the change, no post to vp2 is in flight.
    const roundsNow = rounds
    await vi.waitFor(() => expect(rounds).toBeGreaterThan(roundsNow + 1), { timeout: 10_000, interval: 5 })
    children[2]!.kill('SIGSTOP')
    try {
      const heightAtPause = (await status(ports[1]!))!.chain.height
      await vi.waitFor(async () => expect((await status(ports[1]!))!.chain.height).toBeGreaterThan(heightAtPause + 3), { timeout: 10_000, interval: 50 })
      expect((await status(ports[1]!))!.consensus.view).toBe(view)
    } finally {
      children[2]!.kill('SIGCONT')
    }

    // A backup killed and restarted: what is posted to it before it links to anyone commits too.
    targets = [1, 2]
    const roundsThen = rounds
    await vi.waitFor(() => expect(rounds).toBeGreaterThan(roundsThen + 1), { timeout: 10_000, interval: 5 })
    // What vp3 accepted is ordered before it dies (a kill right after a 202 may lose it: README).
    const acceptedBefore = accepted
    await vi.waitFor(async () => expect(await committed(ports[1]!)).toBeGreaterThanOrEqual(acceptedBefore), { timeout: 20_000, interval: 50 })
    children[3]!.kill('SIGKILL')
    const heightAtBackupKill = (await status(ports[1]!))!.chain.height
    startPeer('vp3', ports[3]!, ports[1]!)
    await vi.waitFor(async () => expect(await status(ports[3]!)).toBeDefined(), { timeout: 40_000, interval: 5 })
    for (let i = 0; i < 5; i++) if (await postTx(ports[3]!, `early-backup${i}=1`)) accepted++
    await vi.waitFor(async () => expect((await status(ports[3]!))?.consensus).toMatchObject({ view, active: true }), { timeout: 10_000, interval: 50 })
    await caughtUp(ports[3]!, ports[1]!)
    expect((await status(ports[3]!))!.chain.height).toBeGreaterThan(heightAtBackupKill)
    loading = false
    await load
    expect(accepted).toBeGreaterThan(0)

    // Everyone, the restarted peer included, ends on one head with every accepted transaction once.
    await vi.waitFor(
      async () => {
        const chains = await Promise.all(ports.map(async (p) => (await status(p))?.chain))
        for (const c of chains) expect(c).toEqual(chains[0])
        for (const port of ports) expect(await committed(port)).toBe(accepted)
      },
      { timeout: 40_000, interval: 200 },
    )
  }, 150_000)
})
