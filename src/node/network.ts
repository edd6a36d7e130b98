/**
 * `wspeer network`: a local network of N validating peers, one child process each (`npm start`).
 * Options enter; child processes, a table of addresses on stdout, and the children's log lines
 * (prefixed with their peer ID, on stderr) leave. vp0 starts alone; vp1..vpN-1 are given only
 * vp0's address, so discovery has to find the rest, as it would in a real network.
 *
 * Lifecycle: the ports are checked free first, then each child must answer GET /status within
 * NETWORK_READY_TIMEOUT_MS. SIGINT/SIGTERM are forwarded to the children and the command returns
 * once all have exited (a second signal kills them). A child that dies once the network is up is
 * supervised: reported at once and restarted after a backoff (NETWORK_RESTART_BASE_MS doubling to
 * NETWORK_RESTART_MAX_MS), the others running on meanwhile (a killed peer is a legitimate
 * experiment, and it comes back with the same key and port). After
 * NETWORK_MAX_RESTARTS restarts in a row the whole network is stopped with a message saying so.
 * Any unexpected exit makes the command's exit code 1.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer as createNetServer } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { LogLevel } from '../core/util/logger.js'
import type { CliIo } from './cli-io.js'
import { writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { defaultChatAddress, urlHost } from './config.js'
import { loadOrCreateKey } from './key-store.js'
import { formatMembership } from '../core/identity/membership.js'
import { peerNodeArgs, peerProcessEnv } from './peer-process.js'

/** Peers started when --peers is not given. */
export const DEFAULT_NETWORK_PEERS = 4
/** Most peers one `wspeer network` starts (each is a process). */
export const MAX_NETWORK_PEERS = 32
/** Port of vp0; vp<i> listens on base + i. */
export const DEFAULT_BASE_PORT = 7051
/** Children log at this level unless --log-level says otherwise: warnings and errors only. */
export const DEFAULT_NETWORK_LOG_LEVEL: LogLevel = 'warn'
/** Every child must answer GET /status within this time (20 s). */
export const NETWORK_READY_TIMEOUT_MS = 20_000
/** Interval between /status probes while waiting for a child (100 ms). */
export const READY_POLL_INTERVAL_MS = 100
/** After forwarding a shutdown signal, children still alive after this are killed (15 s). */
export const NETWORK_STOP_TIMEOUT_MS = 15_000
/** A child that dies after the network is up is restarted this many times in a row at most (5); then the network stops. */
export const NETWORK_MAX_RESTARTS = 5
/** Wait before the first restart of a child (1 s); it doubles with each restart in a row. */
export const NETWORK_RESTART_BASE_MS = 1000
/** Longest wait before a restart (30 s). */
export const NETWORK_RESTART_MAX_MS = 30_000
/** A child that stayed up this long (60 s) starts its restart count afresh. */
export const NETWORK_RESTART_RESET_MS = 60_000

/** The launcher the children run; resolved from this file so it works from any cwd. */
export const BIN_PATH = fileURLToPath(new URL('../../bin/wspeer.js', import.meta.url))

export interface NetworkOptions {
  peers: number
  basePort: number
  consensus: string
  host: string
  logLevel: LogLevel
  /** Keys in <dataDir>/vp<i>, membership in <dataDir>/membership.json. */
  dataDir: string
  /** Each child's initial V8 old generation in MiB, 0 for V8's own sizing (peer-process.ts says why). */
  initialOldSpaceMb?: number
  /** Overrides NETWORK_MAX_RESTARTS (0: the first unexpected exit stops the network). */
  maxRestarts?: number
}

/** Name of the membership file `wspeer network` writes into its data directory. */
export const NETWORK_MEMBERSHIP_FILE = 'membership.json'

/**
 * Keys for vp0..vpN-1 (created on first run, reused after) and a membership file binding exactly
 * those IDs to those keys, so the network is closed: no one else can pose as one of them.
 */
export async function prepareNetworkIdentity(dataDir: string, peers: number): Promise<{ membership: string; dataDirs: string[] }> {
  const members: { id: string; publicKey: Uint8Array }[] = []
  const dataDirs: string[] = []
  for (let i = 0; i < peers; i++) {
    const dir = join(dataDir, `vp${i}`)
    const { keyPair } = await loadOrCreateKey(dir)
    members.push({ id: `vp${i}`, publicKey: keyPair.publicKey })
    dataDirs.push(dir)
  }
  const membership = join(dataDir, NETWORK_MEMBERSHIP_FILE)
  // Written whole, then renamed: a peer never reads half a membership.
  const tmp = `${membership}.${process.pid}.tmp`
  await writeFile(tmp, formatMembership(members), { mode: 0o644 })
  await rename(tmp, membership)
  return { membership, dataDirs }
}

interface Member {
  id: string
  port: number
  chat: string
  http: string
  args: string[]
  child: ChildProcess
  /** The current child's exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  alive: boolean
  /** Restarts since the child last stayed up NETWORK_RESTART_RESET_MS. */
  restarts: number
  startedAt: number
  restartTimer?: NodeJS.Timeout
}

function pipeLines(stream: NodeJS.ReadableStream | null, prefix: string, write: (text: string) => void): void {
  if (stream === null) return
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => write(`${prefix} ${line}\n`))
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)))
  return rows.map((row) => `  ${row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()}\n`).join('')
}

function exitText(result: { code: number | null; signal: NodeJS.Signals | null }): string {
  if (result.signal !== null) return `signal ${result.signal}`
  // A peer exits 0 only when it was told to stop: a signal sent to it alone, not through this command.
  return result.code === 0 ? 'code 0: it was stopped by a signal sent to it alone' : `code ${result.code}`
}

/** The wait before restart number `n` (1-based): NETWORK_RESTART_BASE_MS doubling, at most NETWORK_RESTART_MAX_MS. */
export function restartDelayMs(n: number): number {
  return Math.min(NETWORK_RESTART_MAX_MS, NETWORK_RESTART_BASE_MS * 2 ** Math.max(0, n - 1))
}

/** Resolves with the ports among `ports` on `host` that something already listens on. */
export async function busyPorts(host: string, ports: number[]): Promise<number[]> {
  const busy: number[] = []
  for (const port of ports) {
    const inUse = await new Promise<boolean>((resolve) => {
      const probe = createNetServer()
      probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE'))
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(false)))
    })
    if (inUse) busy.push(port)
  }
  return busy
}

export async function runNetwork(options: NetworkOptions, io: CliIo): Promise<number> {
  const { host } = options
  const maxRestarts = options.maxRestarts ?? NETWORK_MAX_RESTARTS
  const members: Member[] = []
  let shuttingDown = false
  let supervising = false
  let failed = false
  let giveUp: ((member: Member) => void) | undefined

  // Checked first: a peer of another network on one of these ports would answer the readiness
  // probes below, and this command would announce a network whose own peers had failed to bind.
  const ports = Array.from({ length: options.peers }, (_, i) => options.basePort + i)
  const busy = await busyPorts(host, ports)
  if (busy.length > 0) {
    io.stderr(
      `wspeer network: port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} on ${host} already in use (another wspeer network?); ` +
        `stop it or choose other ports with --base-port\n`,
    )
    return 1
  }
  const identity = await prepareNetworkIdentity(options.dataDir, options.peers)

  const spawnChild = (member: Member): void => {
    const child = spawn(process.execPath, [...peerNodeArgs(options.initialOldSpaceMb), ...member.args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: peerProcessEnv(io.env as NodeJS.ProcessEnv),
    })
    member.child = child
    member.alive = true
    member.startedAt = Date.now()
    member.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
    child.once('error', (err) => io.stderr(`wspeer network: cannot start ${member.id}: ${err.message}\n`))
    pipeLines(child.stdout, `[${member.id}]`, (text) => io.stderr(text))
    pipeLines(child.stderr, `[${member.id}]`, (text) => io.stderr(text))
    member.exited.then((result) => {
      if (member.child !== child) return
      member.alive = false
      if (shuttingDown && result.code === 0) return
      failed = true
      if (shuttingDown) return io.stderr(`wspeer network: ${member.id} stopped with ${exitText(result)}\n`)
      if (!supervising) return io.stderr(`wspeer network: ${member.id} exited unexpectedly (${exitText(result)})\n`)
      if (Date.now() - member.startedAt >= NETWORK_RESTART_RESET_MS) member.restarts = 0
      if (member.restarts >= maxRestarts) {
        io.stderr(`wspeer network: ${member.id} exited unexpectedly (${exitText(result)}) after ${member.restarts} restart${member.restarts === 1 ? '' : 's'}; giving up\n`)
        return giveUp?.(member)
      }
      member.restarts++
      const delay = restartDelayMs(member.restarts)
      io.stderr(`wspeer network: ${member.id} exited unexpectedly (${exitText(result)}); restarting it in ${delay} ms (restart ${member.restarts} of at most ${maxRestarts})\n`)
      member.restartTimer = setTimeout(() => {
        member.restartTimer = undefined
        if (shuttingDown) return
        spawnChild(member)
        io.stderr(`wspeer network: ${member.id} restarted (pid ${member.child.pid ?? '?'})\n`)
      }, delay)
    }).catch((err: unknown) => io.stderr(`wspeer network: handling ${member.id}'s exit failed: ${String(err)}\n`))
  }

  for (let i = 0; i < options.peers; i++) {
    const id = `vp${i}`
    const port = options.basePort + i
    const args = [BIN_PATH, 'start', '--id', id, '--host', host, '--port', String(port), '--role', 'validator']
    args.push('--consensus', options.consensus, '--log-level', options.logLevel)
    args.push('--data-dir', identity.dataDirs[i]!, '--membership', identity.membership)
    // PBFT takes its validator set from configuration, never from peer names: hand it the IDs spawned here.
    if (options.consensus.toLowerCase() === 'pbft') {
      const validators = Array.from({ length: options.peers }, (_, j) => `vp${j}`)
      args.push('--validators', validators.join(','))
    }
    const chat = defaultChatAddress(host, port)
    if (i > 0) args.push('--peers', members[0]!.chat)
    const member = { id, port, chat, http: `http://${urlHost(host)}:${port}`, args, alive: false, restarts: 0, startedAt: 0 } as Member
    spawnChild(member)
    members.push(member)
  }

  const stopAll = async (signal: NodeJS.Signals): Promise<void> => {
    shuttingDown = true
    for (const m of members) {
      if (m.restartTimer !== undefined) clearTimeout(m.restartTimer)
      if (m.alive) m.child.kill(signal)
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const m of members) if (m.alive) m.child.kill('SIGKILL')
        resolve()
      }, NETWORK_STOP_TIMEOUT_MS)
    })
    await Promise.race([Promise.all(members.map((m) => m.exited)), timeout])
    clearTimeout(timer)
    await Promise.all(members.map((m) => m.exited))
  }

  // Shutdown signals: the first is forwarded, a second kills whatever is left.
  let signalled: ((signal: NodeJS.Signals) => void) | undefined
  const shutdownRequested = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve
  })
  let signals = 0
  const unsubscribe = io.onShutdown((signal) => {
    signals++
    if (signals === 1) signalled?.(signal as NodeJS.Signals)
    else for (const m of members) if (m.alive) m.child.kill('SIGKILL')
  })

  try {
    const ready = await waitReady(members, io, shutdownRequested)
    if (ready !== 'ready') {
      if (ready === 'failed') io.stderr('wspeer network: not every peer came up; stopping the others\n')
      await stopAll(ready === 'failed' ? 'SIGTERM' : ready)
      return ready === 'failed' ? 1 : failed ? 1 : 0
    }
    // From here on a child that dies is restarted (start-up failures are not: they would repeat).
    supervising = true
    const gaveUp = new Promise<'gave-up'>((resolve) => {
      giveUp = () => resolve('gave-up')
    })
    // Children that died between the last probe and now are handled like later deaths.
    for (const m of members) {
      if (!m.alive) {
        io.stderr(`wspeer network: ${m.id} exited during start-up\n`)
        giveUp?.(m)
      }
    }

    const rows = [['id', 'chat address', 'status'], ...members.map((m) => [m.id, m.chat, `${m.http}/status`])]
    io.stdout(
      `wspeer network: ${members.length} peers, consensus ${options.consensus}, closed membership ${identity.membership}\n\n${formatTable(rows)}\n` +
        `  dashboard: ${members[0]!.http}/\n` +
        `  submit:    npx wspeer tx hello --to ${members[0]!.http}\n\n` +
        'Press Ctrl+C to stop.\n',
    )

    const outcome = await Promise.race([shutdownRequested, gaveUp])
    if (outcome === 'gave-up') {
      io.stderr('wspeer network: stopping the network\n')
      await stopAll('SIGTERM')
      return 1
    }
    await stopAll(outcome)
    return failed ? 1 : 0
  } finally {
    unsubscribe()
  }
}

/** Resolves 'ready' when every member answers /status, 'failed' when one dies or time runs out, or the signal. */
async function waitReady(members: Member[], io: CliIo, shutdown: Promise<NodeJS.Signals>): Promise<'ready' | 'failed' | NodeJS.Signals> {
  const deadline = Date.now() + NETWORK_READY_TIMEOUT_MS
  let abandoned = false
  const probeOne = async (member: Member): Promise<boolean> => {
    while (!abandoned && member.alive) {
      try {
        const res = await io.fetch(`${member.http}/status`, { signal: AbortSignal.timeout(READY_POLL_INTERVAL_MS * 10) })
        await res.body?.cancel()
        if (res.ok) return true
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        io.stderr(`wspeer network: ${member.id} did not answer ${member.http}/status within ${NETWORK_READY_TIMEOUT_MS} ms\n`)
        return false
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_INTERVAL_MS))
    }
    return false
  }
  const all = Promise.all(members.map(probeOne)).then((oks) => (oks.every(Boolean) ? 'ready' : 'failed') as 'ready' | 'failed')
  const firstDeath = Promise.race(members.map((m) => m.exited)).then(() => 'failed' as const)
  try {
    return await Promise.race([all, firstDeath, shutdown])
  } finally {
    abandoned = true
  }
}
