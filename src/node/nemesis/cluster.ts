/**
 * The nemesis's validators: `wspeer start` PBFT processes on loopback, one port each, that it can
 * kill -9 and restart (same port, same key, the LevelDB ledger it had written), SIGSTOP and SIGCONT, and
 * read over HTTP (GET /status, GET /transactions/<txid>).
 *
 *   const cluster = await startCluster({ validators: 4, dataRoot })
 *   cluster.kill(1); cluster.restart(1)
 *   await cluster.stopAll()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { BIN_PATH } from '../network.js'
import { peerNodeArgs, peerProcessEnv } from '../peer-process.js'

/**
 * PBFT options of the nemesis's validators: shorter timeouts than the defaults, as the
 * process tests use, so a view change takes about two seconds and a short run sees several.
 */
export const NEMESIS_PBFT_OPTIONS = { batchTimeoutMs: 100, requestTimeoutMs: 1000, viewChangeTimeoutMs: 1000, resendViewChangeMs: 1000 }
/** Longest wait for one HTTP answer from a validator (a stopped one never answers) (2 s). */
export const NEMESIS_HTTP_TIMEOUT_MS = 2000

export interface ValidatorStatus {
  id: string
  peers: { id: string }[]
  chain: { height: number; headHash: string }
  consensus: { view?: number; primaryId?: string; outstanding?: number; active?: boolean }
}

export type TxAnswer = { status: 'committed'; block: number; index: number } | { status: 'pending' } | { status: 'unknown' } | { status: 'error'; detail: string }

export interface ClusterOptions {
  validators: number
  /** First of `validators` consecutive free loopback ports. */
  basePort: number
  /** Keys and logs go under it, one directory per validator. */
  dataRoot: string
  /** Where the validators' stderr goes: a file per validator under dataRoot (default), or nowhere. */
  logs?: 'files' | 'ignore'
  /** PBFT options over NEMESIS_PBFT_OPTIONS (the soak sets its batch size). */
  consensusOptions?: Record<string, unknown>
}

export class Cluster {
  readonly ids: string[]
  readonly ports: number[]
  readonly #options: ClusterOptions
  readonly #children: (ChildProcess | undefined)[]
  readonly #logs: (WriteStream | undefined)[]

  constructor(options: ClusterOptions) {
    this.#options = options
    this.ids = Array.from({ length: options.validators }, (_, i) => `vp${i}`)
    this.ports = this.ids.map((_, i) => options.basePort + i)
    this.#children = this.ids.map(() => undefined)
    this.#logs = this.ids.map(() => undefined)
  }

  startAll(): void {
    for (let i = 0; i < this.ids.length; i++) this.start(i)
  }

  start(i: number): void {
    const id = this.ids[i]!
    const others = this.ports.filter((_, j) => j !== i).map((port) => `ws://127.0.0.1:${port}/chat`)
    const args = [
      ...peerNodeArgs(),
      BIN_PATH,
      'start',
      '--id', id,
      '--host', '127.0.0.1',
      '--port', String(this.ports[i]),
      '--data-dir', join(this.#options.dataRoot, id),
      '--log-level', 'error',
      '--consensus', 'pbft',
      '--validators', this.ids.join(','),
      '--consensus-options', JSON.stringify({ ...NEMESIS_PBFT_OPTIONS, ...this.#options.consensusOptions }),
      '--peers', others.join(','),
      '--discovery-period-ms', '300',
      '--redial-base-ms', '100',
      '--redial-max-ms', '1000',
    ]
    const toFile = (this.#options.logs ?? 'files') === 'files'
    // The flags and environment `wspeer network` gives its peers, so the nemesis and the soak run what users run.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', toFile ? 'pipe' : 'ignore'], env: peerProcessEnv(process.env) })
    if (toFile) {
      let log = this.#logs[i]
      if (log === undefined) {
        log = createWriteStream(join(this.#options.dataRoot, `${id}.log`), { flags: 'a' })
        this.#logs[i] = log
      }
      child.stderr?.pipe(log, { end: false })
    }
    this.#children[i] = child
  }

  /** kill -9; the process is gone when this resolves. */
  async kill(i: number): Promise<void> {
    const child = this.#children[i]
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGKILL')
    await exited
    this.#children[i] = undefined
  }

  /** The process id of validator i while it runs. */
  pid(i: number): number | undefined {
    return this.#children[i]?.pid
  }

  pause(i: number): void {
    this.#children[i]?.kill('SIGSTOP')
  }

  resume(i: number): void {
    this.#children[i]?.kill('SIGCONT')
  }

  /** Every validator killed (SIGCONT first, so a stopped one dies at once), logs closed. */
  async stopAll(): Promise<void> {
    for (let i = 0; i < this.ids.length; i++) this.resume(i)
    await Promise.all(this.ids.map((_, i) => this.kill(i)))
    for (const log of this.#logs) log?.end()
  }

  async status(i: number): Promise<ValidatorStatus | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports[i]}/status`, { signal: AbortSignal.timeout(NEMESIS_HTTP_TIMEOUT_MS) })
      return res.ok ? ((await res.json()) as ValidatorStatus) : undefined
    } catch {
      return undefined
    }
  }

  /** POST /transactions; the txid when answered 202, else undefined. */
  async submit(i: number, payload: string): Promise<string | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports[i]}/transactions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payload }),
        signal: AbortSignal.timeout(NEMESIS_HTTP_TIMEOUT_MS),
      })
      if (res.status !== 202) {
        await res.body?.cancel()
        return undefined
      }
      const { txid } = (await res.json()) as { txid?: unknown }
      return typeof txid === 'string' ? txid : undefined
    } catch {
      return undefined
    }
  }

  /** GET /transactions/<txid>. */
  async transaction(i: number, txid: string): Promise<TxAnswer> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.ports[i]}/transactions/${encodeURIComponent(txid)}`, {
        signal: AbortSignal.timeout(NEMESIS_HTTP_TIMEOUT_MS * 5),
      })
      const body = (await res.json()) as { status?: string; block?: number; index?: number }
      if (res.status === 200 && body.status === 'committed') return { status: 'committed', block: body.block!, index: body.index! }
      if (res.status === 202) return { status: 'pending' }
      if (res.status === 404) return { status: 'unknown' }
      return { status: 'error', detail: `HTTP ${res.status}` }
    } catch (err) {
      return { status: 'error', detail: err instanceof Error ? err.message : String(err) }
    }
  }
}
