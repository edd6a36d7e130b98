/**
 * The real network the e2e tests run against: four `wspeer start` processes (vp0..vp3) on
 * loopback, started by the global setup, plus a tiny control server the tests call to kill and
 * restart one peer (tests run in worker processes; the children belong to the runner).
 *
 * vp1..vp3 get only vp0's address, as in `wspeer network`; vp3 has a small consensus queue
 * (E2E_SMALL_QUEUE) so a flood from a tab overflows it cheaply. The children have an IPC channel,
 * so they stop if the runner dies, even by kill -9.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareNetworkIdentity } from '../src/node/network.js'

/** vp0's port; vp<i> listens on E2E_BASE_PORT + i, the control server on E2E_BASE_PORT - 1. */
export const E2E_BASE_PORT = Number(process.env['WSPEER_E2E_BASE_PORT'] ?? 17151)
export const E2E_PEERS = 4
/** Consensus queue bound of vp3, the flood target (16 messages). */
export const E2E_SMALL_QUEUE = 16
/** Each peer must answer /status, and the mesh form, within this long (20 s). */
export const E2E_READY_TIMEOUT_MS = 20_000

export const CONTROL_URL = `http://127.0.0.1:${E2E_BASE_PORT - 1}`
export const peerIds = Array.from({ length: E2E_PEERS }, (_, i) => `vp${i}`)
export const httpUrl = (id: string): string => `http://127.0.0.1:${E2E_BASE_PORT + Number(id.slice(2))}`
export const chatUrl = (id: string): string => `ws://127.0.0.1:${E2E_BASE_PORT + Number(id.slice(2))}/chat`

const BIN = fileURLToPath(new URL('../bin/wspeer.js', import.meta.url))
/** A child still running this long after SIGTERM is killed (5 s). */
const CHILD_STOP_GRACE_MS = 5000

/** SIGTERM to every child still running (SIGKILL after CHILD_STOP_GRACE_MS); resolves once all are gone. */
async function stopChildren(children: Iterable<ChildProcess>): Promise<void> {
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_STOP_GRACE_MS)
      await exited
      clearTimeout(timer)
    }),
  )
}

/** Peers' key directories (`--data-dir`), out of the user's ~/.wspeer; one per runner process. */
const E2E_DATA_ROOT = mkdtempSync(join(tmpdir(), 'wspeer-e2e-'))

/** `--data-dir` for one peer: a restarted peer keeps its key. */
function dataDirArgs(scope: string, id: string): string[] {
  return ['--data-dir', join(E2E_DATA_ROOT, scope, id)]
}

export interface NodeStatus {
  id: string
  peers: { id: string; address: string; role: string }[]
  chain: { height: number; headHash: string }
  queues: { peer: string; depth: number; bytes: number; rejects: number }[]
  consensus: { plugin: string } & Record<string, unknown>
}

export async function fetchStatus(id: string): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`${httpUrl(id)}/status`, { signal: AbortSignal.timeout(1000) })
    return res.ok ? ((await res.json()) as NodeStatus) : undefined
  } catch {
    return undefined
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = E2E_READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`e2e network: ${what} not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export class E2eNetwork {
  readonly #children = new Map<string, ChildProcess>()
  #control: Server | undefined

  async start(): Promise<void> {
    for (const id of peerIds) this.#spawn(id)
    await Promise.all(peerIds.map((id) => this.#waitUp(id)))
    // The whole mesh, so every test starts from the same picture.
    await waitFor('a full mesh', async () => {
      const all = await Promise.all(peerIds.map(fetchStatus))
      return all.every((s) => s !== undefined && peerIds.filter((p) => p !== s.id).every((p) => s.peers.some((q) => q.id === p)))
    })
    this.#control = createServer((req, res) => {
      const url = new URL(req.url ?? '/', CONTROL_URL)
      const id = url.searchParams.get('id') ?? ''
      const done = (status: number, text: string): void => void res.writeHead(status, { 'content-type': 'text/plain' }).end(text)
      if (req.method !== 'POST' || !peerIds.includes(id)) return done(400, 'POST /kill?id=vpN or /start?id=vpN')
      const action = url.pathname === '/kill' ? this.kill(id) : url.pathname === '/start' ? this.restart(id) : Promise.reject(new Error('unknown action'))
      action.then(
        () => done(200, 'ok'),
        (err: unknown) => done(500, err instanceof Error ? err.message : String(err)),
      )
    })
    await new Promise<void>((resolve, reject) => {
      this.#control!.once('error', reject)
      this.#control!.listen(E2E_BASE_PORT - 1, '127.0.0.1', resolve)
    })
  }

  #spawn(id: string): void {
    const i = Number(id.slice(2))
    const args = [BIN, 'start', '--id', id, '--port', String(E2E_BASE_PORT + i), '--role', 'validator', '--log-level', 'warn', ...dataDirArgs('shared', id)]
    if (i > 0) args.push('--peers', chatUrl('vp0'))
    if (i === 3) args.push('--queue-max-messages', String(E2E_SMALL_QUEUE))
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: peerEnv() })
    child.stderr?.on('data', (chunk: Buffer) => {
      if (process.env['WSPEER_E2E_LOGS'] !== undefined) process.stderr.write(`[${id}] ${chunk.toString()}`)
    })
    this.#children.set(id, child)
  }

  #waitUp(id: string): Promise<void> {
    return waitFor(`${id} answering /status`, async () => {
      const child = this.#children.get(id)
      if (child?.exitCode !== null) throw new Error(`e2e network: ${id} exited with ${child?.exitCode} (port ${E2E_BASE_PORT + Number(id.slice(2))} in use?)`)
      return (await fetchStatus(id)) !== undefined
    })
  }

  /** SIGKILL, as a crash: the peer says nothing to its links. Resolves once the process is gone. */
  async kill(id: string): Promise<void> {
    const child = this.#children.get(id)
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async restart(id: string): Promise<void> {
    await this.kill(id)
    this.#spawn(id)
    await this.#waitUp(id)
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#control === undefined ? resolve() : this.#control.close(() => resolve())))
    await stopChildren(this.#children.values())
  }
}

/** From a test: kill or restart one Node peer through the runner's control server. */
export async function control(action: 'kill' | 'start', id: string): Promise<void> {
  const res = await fetch(`${CONTROL_URL}/${action}?id=${id}`, { method: 'POST', signal: AbortSignal.timeout(30_000) })
  if (!res.ok) throw new Error(`control ${action} ${id}: HTTP ${res.status} ${await res.text()}`)
}

// ---- Networks a spec starts for itself (apart from the shared one above) ----

/** A spec network's peers must answer /status, and the mesh form, within this long (20 s). */
export const SPEC_NETWORK_READY_TIMEOUT_MS = 20_000
/** Bytes of each child's stderr kept for the error when it exits during start (8 KiB). */
const SPEC_STDERR_TAIL_BYTES = 8 * 1024

/**
 * `count` distinct free loopback ports, from the OS: all are held open together (so none repeats)
 * and released just before the caller binds them. Another process could take one in between;
 * a peer that then fails to bind is reported by SpecNetwork.start.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer()
      servers.push(server)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', resolve)
      })
    }
    return servers.map((s) => (s.address() as { port: number }).port)
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  }
}

/** GET <httpBase>/status, or undefined while the peer does not answer. */
export async function fetchStatusAt(httpBase: string): Promise<NodeStatus | undefined> {
  try {
    const res = await fetch(`${httpBase}/status`, { signal: AbortSignal.timeout(1000) })
    return res.ok ? ((await res.json()) as NodeStatus) : undefined
  } catch {
    return undefined
  }
}

/** The first sample of the Prometheus metric `name` at <httpBase>/metrics (a peer labels its samples with itself). */
export async function fetchMetricAt(httpBase: string, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${httpBase}/metrics`, { signal: AbortSignal.timeout(1000) })
    if (!res.ok) return undefined
    const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
  } catch {
    return undefined
  }
}

/**
 * The runner's environment without the test harness's own WSPEER_E2E_* variables. `wspeer start`
 * ignores them (src/node/config.ts TEST_HARNESS_ENV_PREFIX); they are dropped anyway, as settings
 * of the harness, not of the peers.
 */
export function peerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('WSPEER_E2E_')))
}

export interface SpecNetworkOptions {
  /** Peer IDs, in order; peer i is given the chat URLs of peers 0..i-1 as `--peers`. */
  ids: readonly string[]
  /** More `wspeer start` flags for one peer (e.g. `--consensus pbft --validators ...`). */
  args?: (id: string, index: number) => string[]
  /** Ports to use, one per ID (default: free ones the OS hands out); another network's, to stand in for it. */
  ports?: readonly number[]
  /** Names the peers' data directories (default: from the first port), so a network can start afresh on the same ports. */
  scope?: string
  /**
   * A closed network, as `wspeer network` makes one: keys for vp0..vpN-1 (the IDs must be those)
   * and a membership file binding them, given to every peer with `--membership`.
   */
  closed?: boolean
}

/**
 * `wspeer start` processes one spec starts and stops itself (a PBFT network, say), on ports the
 * OS hands out, so they never meet the shared network on E2E_BASE_PORT. Each peer is given every
 * earlier peer's chat URL, so the mesh forms at once instead of after a discovery period; start()
 * resolves once every peer lists every other. stop() is safe at any point, also after a failed
 * start: call it from afterAll. Like the shared network's, the children have an IPC channel and
 * stop if the test worker dies.
 */
export class SpecNetwork {
  readonly ids: readonly string[]
  readonly #args: (id: string, index: number) => string[]
  readonly #options: SpecNetworkOptions
  readonly #ports = new Map<string, number>()
  readonly #children = new Map<string, ChildProcess>()
  readonly #stderr = new Map<string, string>()
  /** The membership file of a closed network. */
  #membership: string | undefined

  constructor(options: SpecNetworkOptions) {
    this.ids = options.ids
    this.#args = options.args ?? (() => [])
    this.#options = options
  }

  /** The ports in use, one per ID (after start). */
  ports(): number[] {
    return this.ids.map((id) => this.#port(id))
  }

  httpUrl(id: string): string {
    return `http://127.0.0.1:${this.#port(id)}`
  }

  chatUrl(id: string): string {
    return `ws://127.0.0.1:${this.#port(id)}/chat`
  }

  #port(id: string): number {
    const port = this.#ports.get(id)
    if (port === undefined) throw new Error(`spec network: no port for ${id} (not started?)`)
    return port
  }

  async start(): Promise<void> {
    const ports = this.#options.ports ?? (await freePorts(this.ids.length))
    this.ids.forEach((id, i) => this.#ports.set(id, ports[i]!))
    if (this.#options.closed === true) {
      // The same directories dataDirArgs names: <root>/<scope>/vp<i>.
      this.#membership = (await prepareNetworkIdentity(join(E2E_DATA_ROOT, this.#scope()), this.ids.length)).membership
    }
    this.ids.forEach((id, i) => this.#spawn(id, i))
    await Promise.all(
      this.ids.map((id) =>
        waitFor(`${id} answering /status`, async () => {
          const child = this.#children.get(id)!
          if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`spec network: ${id} exited with ${child.exitCode ?? child.signalCode} (port ${this.#port(id)} taken?):\n${this.#stderr.get(id) ?? ''}`)
          }
          return (await fetchStatusAt(this.httpUrl(id))) !== undefined
        }, SPEC_NETWORK_READY_TIMEOUT_MS),
      ),
    )
    await waitFor('a full mesh', async () => {
      const all = await Promise.all(this.ids.map((id) => fetchStatusAt(this.httpUrl(id))))
      return all.every((s) => s !== undefined && this.ids.filter((p) => p !== s.id).every((p) => s.peers.some((q) => q.id === p)))
    }, SPEC_NETWORK_READY_TIMEOUT_MS)
  }

  #scope(): string {
    return this.#options.scope ?? `spec-${this.#port(this.ids[0]!)}`
  }

  #spawn(id: string, index: number): void {
    const args = [BIN, 'start', '--id', id, '--port', String(this.#port(id)), '--role', 'validator', '--log-level', 'warn', ...dataDirArgs(this.#scope(), id)]
    if (this.#membership !== undefined) args.push('--membership', this.#membership)
    if (index > 0) args.push('--peers', this.ids.slice(0, index).map((p) => this.chatUrl(p)).join(','))
    args.push(...this.#args(id, index))
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: peerEnv() })
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr.set(id, ((this.#stderr.get(id) ?? '') + chunk.toString()).slice(-SPEC_STDERR_TAIL_BYTES))
      if (process.env['WSPEER_E2E_LOGS'] !== undefined) process.stderr.write(`[spec ${id}] ${chunk.toString()}`)
    })
    this.#children.set(id, child)
  }

  /** SIGTERM to every child still running (SIGKILL after 5 s); resolves once all are gone. */
  async stop(): Promise<void> {
    await stopChildren(this.#children.values())
  }
}
