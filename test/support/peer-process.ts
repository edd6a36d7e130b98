import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerProcessEnv } from '../../src/node/peer-process.js'

/**
 * Peers as `wspeer start` processes and their HTTP API, for tests that need real processes
 * (SIGKILL, restarts). Every process started here is tracked so a test can kill what is left.
 */
export const BIN = fileURLToPath(new URL('../../bin/wspeer.js', import.meta.url))

export interface PeerStatusView {
  id: string
  peers: { id: string; keyId?: string }[]
  chain: { height: number; headHash: string }
  identity: { keyId: string; mode: 'open' | 'closed'; members: number }
  consensus: { plugin: string; view?: number; primaryId?: string; active?: boolean }
}

export class PeerProcesses {
  readonly #children = new Set<ChildProcess>()
  /** Keys of this test's peers, out of the user's ~/.wspeer; a restarted peer keeps its key. */
  readonly dataRoot = mkdtempSync(join(tmpdir(), 'wspeer-test-'))

  /** Starts `wspeer start --id <id> --port <port> --data-dir <dataRoot>/<id> ...args`, stderr to the test's. */
  start(id: string, port: number, args: readonly string[]): ChildProcess {
    const argv = [BIN, 'start', '--id', id, '--port', String(port), '--data-dir', join(this.dataRoot, id), ...args]
    // The environment `wspeer network` gives its peers (peer-process.ts: glibc's mmap threshold).
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'], env: peerProcessEnv(process.env) })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  killAll(): void {
    for (const child of this.#children) child.kill('SIGKILL')
  }
}

/** GET /status, or undefined while the peer is down or starting. */
export async function statusOf(port: number): Promise<PeerStatusView | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`)
    return res.ok ? ((await res.json()) as PeerStatusView) : undefined
  } catch {
    return undefined
  }
}

/** POST /transactions; true when the peer accepted it (202). */
export async function postTx(port: number, payload: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/transactions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload }),
    })
    return res.status === 202
  } catch {
    return false
  }
}
