/**
 * End to end: `node bin/wspeer.js network --peers 4` as a user runs it (npm start), through the
 * tsx launcher, four child processes, discovery from vp0's address alone, a transaction over
 * HTTP, and a clean SIGINT.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { freePortRun } from '../support/ports.js'
import { BIN, statusOf } from '../support/peer-process.js'
import { peerEnvText, peerNodeArgs } from '../../src/node/peer-process.js'

const PEERS = 4
/** Time for four processes to start and find each other on a slow CI machine. */
const NETWORK_UP_TIMEOUT_MS = 30_000
/** Time for a transaction to be committed on every peer. */
const COMMIT_TIMEOUT_MS = 20_000

/** Argument lists of the running processes whose arguments include `marker` (Linux: read from /proc). */
function processesWith(marker: string): { args: string[]; env: string[] }[] {
  const found: { args: string[]; env: string[] }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let args: string[]
    let env: string[]
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
    } catch {
      continue // gone in the meantime
    }
    if (args.includes(marker)) found.push({ args, env })
  }
  return found
}

describe('wspeer network (end to end)', () => {
  it(
    'starts 4 peers that discover each other, commits a transaction on all, and exits 0 on SIGINT',
    async () => {
      const basePort = await freePortRun(PEERS)
      const dataDir = mkdtempSync(join(tmpdir(), 'wspeer-network-test-'))
      const child = spawn(process.execPath, [BIN, 'network', '--peers', String(PEERS), '--base-port', String(basePort), '--data-dir', dataDir], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      )
      try {
        // The table appears once every child answers /status.
        await expect.poll(() => stdout, { timeout: NETWORK_UP_TIMEOUT_MS, interval: 100 }).toContain('Press Ctrl+C to stop.')
        for (let i = 0; i < PEERS; i++) {
          expect(stdout).toMatch(new RegExp(`^  vp${i} +ws://127\\.0\\.0\\.1:${basePort + i}/chat +http://127\\.0\\.0\\.1:${basePort + i}/status$`, 'm'))
        }
        expect(stdout).toContain(`dashboard: http://127.0.0.1:${basePort}/`)

        // Discovery: each peer knows the other three, though vp1..vp3 were only told about vp0.
        await expect
          .poll(async () => (await Promise.all([...Array(PEERS).keys()].map((i) => statusOf(basePort + i)))).map((s) => s?.peers.length), {
            timeout: NETWORK_UP_TIMEOUT_MS,
            interval: 200,
          })
          .toEqual(Array(PEERS).fill(PEERS - 1))

        // The network is closed: each peer runs with the generated membership, and the key id each
        // proved in its handshake is the one bound to its ID there.
        const membership = JSON.parse(readFileSync(join(dataDir, 'membership.json'), 'utf8')) as { validators: { id: string; publicKey: string }[] }
        expect(membership.validators.map((v) => v.id)).toEqual([...Array(PEERS).keys()].map((i) => `vp${i}`))
        const statuses = await Promise.all([...Array(PEERS).keys()].map((i) => statusOf(basePort + i)))
        const keyIds = new Map(statuses.map((s) => [s!.id, s!.identity.keyId]))
        for (const s of statuses) {
          expect(s!.identity).toMatchObject({ mode: 'closed', members: PEERS })
          for (const p of s!.peers) expect(p.keyId).toBe(keyIds.get(p.id))
        }

        // Each child runs with the peers' Node flags (peer-process.ts), ahead of the launcher, and
        // with their glibc malloc settings in its environment.
        if (existsSync('/proc/self/cmdline')) {
          const children = processesWith('start').filter(({ args }) => args.some((a) => a.startsWith(dataDir)))
          expect(children).toHaveLength(PEERS)
          const malloc = peerEnvText(process.env).split(' ')
          expect(malloc.map((v) => v.split('=')[0])).toEqual(['MALLOC_MMAP_THRESHOLD_', 'MALLOC_ARENA_MAX'])
          for (const { args, env } of children) {
            expect(args.slice(1, 1 + peerNodeArgs().length)).toEqual(peerNodeArgs())
            expect(env).toEqual(expect.arrayContaining(malloc))
          }
        }

        const res = await fetch(`http://127.0.0.1:${basePort + 1}/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ payload: 'end-to-end' }),
        })
        expect(res.status).toBe(202)
        expect((await res.json()) as unknown).toMatchObject({ txid: expect.any(String) })

        // Every peer reaches the same chain, past the genesis block.
        await expect
          .poll(
            async () => {
              const all = await Promise.all([...Array(PEERS).keys()].map((i) => statusOf(basePort + i)))
              const heads = new Set(all.map((s) => (s === undefined ? 'down' : `${s.chain.height}:${s.chain.headHash}`)))
              return heads.size === 1 && all.every((s) => s !== undefined && s.chain.height > 1)
            },
            { timeout: COMMIT_TIMEOUT_MS, interval: 200 },
          )
          .toBe(true)

        child.kill('SIGINT')
        const { code, signal } = await exited
        expect({ code, signal }).toEqual({ code: 0, signal: null })
        // The children are gone too: nothing answers any more.
        for (let i = 0; i < PEERS; i++) expect(await statusOf(basePort + i)).toBeUndefined()
        expect(stderr).not.toMatch(/exited unexpectedly/)
      } catch (err) {
        console.log(`wspeer network stdout:\n${stdout}\nstderr:\n${stderr}`)
        throw err
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL')
          await exited
        }
      }
    },
    NETWORK_UP_TIMEOUT_MS + COMMIT_TIMEOUT_MS + 20_000,
  )
})
