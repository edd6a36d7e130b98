/**
 * `wspeer network`'s lifecycle with real child processes: busy ports refused before anything is
 * announced, a child that dies restarted with backoff, and the network stopped with a clear
 * message once a child keeps dying.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { main, type CliIo } from '../../src/node/cli.js'
import { NETWORK_MAX_RESTARTS, NETWORK_RESTART_BASE_MS, NETWORK_RESTART_MAX_MS, restartDelayMs, runNetwork } from '../../src/node/network.js'
import { freePortRun } from '../support/ports.js'
import { statusOf } from '../support/peer-process.js'

/** Time for peer processes to start on a loaded machine. */
const UP_TIMEOUT_MS = 40_000

interface TestIo extends CliIo {
  out: string
  err: string
  signal(name: string): void
}

function testIo(): TestIo {
  const listeners = new Set<(signal: string) => void>()
  const io: TestIo = {
    out: '',
    err: '',
    env: { ...process.env },
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    fetch: (...args) => globalThis.fetch(...args),
    onShutdown(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    signal(name) {
      for (const l of [...listeners]) l(name)
    },
  }
  return io
}

/** Pids of the running `wspeer start` children whose arguments name `dataDir` and `--id id` (Linux /proc). */
function childPids(dataDir: string, id: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let args: string[]
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
    } catch {
      continue
    }
    const at = args.indexOf('--id')
    if (args.includes('start') && args[at + 1] === id && args.some((a) => a.startsWith(dataDir))) pids.push(Number(entry))
  }
  return pids
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('wspeer network', () => {
  it('restart delays double from the base up to the cap', () => {
    expect(restartDelayMs(1)).toBe(NETWORK_RESTART_BASE_MS)
    expect(restartDelayMs(2)).toBe(2 * NETWORK_RESTART_BASE_MS)
    expect(restartDelayMs(100)).toBe(NETWORK_RESTART_MAX_MS)
  })

  it('refuses ports already in use before starting anything or printing its banner', async () => {
    const basePort = await freePortRun(2)
    const holder: Server = createServer()
    await new Promise<void>((resolve) => holder.listen(basePort + 1, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())))
    const dataDir = mkdtempSync(join(tmpdir(), 'wspeer-network-busy-'))
    const io = testIo()
    expect(await main(['network', '--peers', '2', '--base-port', String(basePort), '--data-dir', dataDir], io)).toBe(1)
    expect(io.err).toBe(`wspeer network: port ${basePort + 1} on 127.0.0.1 already in use (another wspeer network?); stop it or choose other ports with --base-port\n`)
    expect(io.out).toBe('')
    expect(existsSync(join(dataDir, 'membership.json'))).toBe(false)
    expect(await statusOf(basePort)).toBeUndefined()
  })

  it(
    'restarts a child that dies, says so, and keeps the network up',
    async () => {
      const basePort = await freePortRun(1)
      const dataDir = mkdtempSync(join(tmpdir(), 'wspeer-network-restart-'))
      const io = testIo()
      const done = runNetwork({ peers: 1, basePort, consensus: 'noops', host: '127.0.0.1', logLevel: 'warn', dataDir }, io)
      cleanups.push(async () => {
        io.signal('SIGINT')
        io.signal('SIGKILL')
        await done
      })
      await expect.poll(() => io.out, { timeout: UP_TIMEOUT_MS, interval: 100 }).toContain('Press Ctrl+C to stop.')
      const [first] = childPids(dataDir, 'vp0')
      expect(first).toBeDefined()
      process.kill(first!, 'SIGKILL')
      await expect
        .poll(() => io.err, { timeout: UP_TIMEOUT_MS, interval: 100 })
        .toContain(`wspeer network: vp0 exited unexpectedly (signal SIGKILL); restarting it in ${NETWORK_RESTART_BASE_MS} ms (restart 1 of at most ${NETWORK_MAX_RESTARTS})\n`)
      await expect.poll(() => io.err, { timeout: UP_TIMEOUT_MS, interval: 100 }).toMatch(/wspeer network: vp0 restarted \(pid \d+\)\n/)
      await expect.poll(async () => (await statusOf(basePort))?.id, { timeout: UP_TIMEOUT_MS, interval: 200 }).toBe('vp0')
      expect(childPids(dataDir, 'vp0')).not.toContain(first)

      io.signal('SIGINT')
      // It recovered, but a peer did die: the run is not reported as clean.
      expect(await done).toBe(1)
      expect(await statusOf(basePort)).toBeUndefined()
    },
    3 * UP_TIMEOUT_MS,
  )

  it(
    'stops the whole network with a clear message when a child keeps dying',
    async () => {
      const basePort = await freePortRun(2)
      const dataDir = mkdtempSync(join(tmpdir(), 'wspeer-network-giveup-'))
      const io = testIo()
      const done = runNetwork({ peers: 2, basePort, consensus: 'noops', host: '127.0.0.1', logLevel: 'warn', dataDir, maxRestarts: 0 }, io)
      cleanups.push(async () => {
        io.signal('SIGINT')
        io.signal('SIGKILL')
        await done
      })
      await expect.poll(() => io.out, { timeout: UP_TIMEOUT_MS, interval: 100 }).toContain('Press Ctrl+C to stop.')
      const [pid] = childPids(dataDir, 'vp1')
      // SIGTERM sent to the child alone: it stops cleanly with code 0, which is no reason to keep quiet.
      process.kill(pid!, 'SIGTERM')
      expect(await done).toBe(1)
      expect(io.err).toContain('wspeer network: vp1 exited unexpectedly (code 0: it was stopped by a signal sent to it alone) after 0 restarts; giving up\n')
      expect(io.err).toContain('wspeer network: stopping the network\n')
      expect(await statusOf(basePort)).toBeUndefined()
      expect(childPids(dataDir, 'vp0')).toEqual([])
    },
    3 * UP_TIMEOUT_MS,
  )
})
