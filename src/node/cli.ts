/**
 * The `wspeer` command line. Arguments enter `main(argv)`; text leaves on stdout (results) and
 * stderr (logs, errors), and the exit code is returned: 0 success, 1 runtime failure (bad
 * configuration, port in use, unknown consenter, HTTP error), 2 usage error (unknown command,
 * bad arguments). bin/wspeer.js runs it through tsx, so no build step is needed.
 *
 *   wspeer start --id vp0 --port 7051 --consensus noops
 *   wspeer network --peers 4
 *   wspeer tx hello --to http://127.0.0.1:7051
 *   wspeer tx hello --wait --timeout 30000
 *   wspeer status http://127.0.0.1:7051
 *   wspeer keygen --id vp0
 *
 * Every side effect goes through CliIo so tests drive main() without touching the process.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ConfigError, UnknownConsenterError, describeError } from '../core/errors.js'
import { consenterNames } from '../core/consensus/registry.js'
import { DEFAULT_PEER_LIMITS } from '../core/peer/limits.js'
import type { PeerStatus } from '../core/peer/peer-types.js'
import { LOG_LEVELS } from '../core/util/logger.js'
import type { LogLevel } from '../core/util/logger.js'
import { DEFAULT_CONSENSUS, DEFAULT_HOST, DEFAULT_LEDGER, DEFAULT_PEER_ID, DEFAULT_PORT, configFlags, defaultDataDir, defaultDataRoot, resolveConfig, urlHost } from './config.js'
import type { CliIo } from './cli-io.js'
import { keygen } from './key-store.js'
import { createCaFetch } from './ca-fetch.js'
import { startNodePeer } from './index.js'
import {
  DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
} from './connection-limiter.js'
import { createNodeLogger, isLogLevel } from './logger.js'
import { DEFAULT_BASE_PORT, DEFAULT_NETWORK_LOG_LEVEL, DEFAULT_NETWORK_PEERS, MAX_NETWORK_PEERS, NETWORK_MAX_RESTARTS, runNetwork } from './network.js'
import { DEFAULT_PBFT_OPTIONS } from '../core/consensus/pbft/config.js'
import { DEFAULT_FSYNC_POLICY } from '../core/ledger/ledger-store.js'
import { describeIntegerRule, integerWithin } from '../core/util/integer-options.js'
import { DEFAULT_INITIAL_OLD_SPACE_MB, MAX_INITIAL_OLD_SPACE_MB, peerEnvText, peerNodeArgs } from './peer-process.js'

/** `wspeer tx` and `wspeer status` give up on the peer after this long (10 s). */
export const HTTP_CLIENT_TIMEOUT_MS = 10_000
/** `wspeer tx --wait` gives up waiting for the commit after this long unless --timeout says otherwise (30 s). */
export const TX_WAIT_TIMEOUT_MS = 30_000
/** Longest --timeout `wspeer tx --wait` takes (1 h). */
export const MAX_TX_WAIT_TIMEOUT_MS = 3_600_000
/** `wspeer tx --wait` asks GET /transactions/<txid> this often (100 ms). */
export const TX_WAIT_POLL_MS = 100
/** `wspeer start` reports failure if stopping takes longer than this (15 s). */
export const STOP_TIMEOUT_MS = 15_000
/** After main() returns, the process is forced out if handles still hold it this long (3 s). */
export const EXIT_GRACE_MS = 3000
/** The built dashboard (`npm run build`), served at `/` by `wspeer start` when present. */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../dist/web', import.meta.url))
/** Where `tx` and `status` go without --to / a URL. */
export const DEFAULT_PEER_URL = `http://${DEFAULT_HOST}:${DEFAULT_PORT}`

export type { CliIo }

export const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  env: process.env,
  fetch: (...args) => globalThis.fetch(...args),
  onShutdown(listener) {
    process.on('SIGINT', listener)
    process.on('SIGTERM', listener)
    // Started by `wspeer network` with an IPC channel: when that parent dies, even by kill -9,
    // the channel closes and this peer stops instead of living on as an orphan.
    const onDisconnect = (): void => listener('SIGTERM')
    if (process.connected) process.once('disconnect', onDisconnect)
    return () => {
      process.off('SIGINT', listener)
      process.off('SIGTERM', listener)
      process.off('disconnect', onDisconnect)
    }
  },
}

class UsageError extends Error {
  override readonly name: string = 'UsageError'
}

const TOP_HELP = `Usage: wspeer <command> [options]

Commands:
  start     run one peer: WebSocket chat at /chat and the HTTP API on one port
  network   run a local network of validating peers, one process each (npm start)
  tx        submit a transaction to a peer
  status    show a peer's status
  block     print a block of a peer's chain as JSON
  get       print the value a key holds in a peer's state
  keygen    create (or show) a peer's key and print its public key for a membership file

Run "wspeer <command> --help" for a command's options.
`

function startHelp(): string {
  const limitFlags = configFlags()
    .filter((f) => f.key.startsWith('limits.'))
    .map((f) => `  ${f.flag} <n>`.padEnd(34) + `${f.env} (default ${DEFAULT_PEER_LIMITS[f.key.slice(7) as keyof typeof DEFAULT_PEER_LIMITS]})`)
  const pbftFlags = configFlags()
    .filter((f) => f.key.startsWith('consensusOptions.') && f.key !== 'consensusOptions.validators')
    .map((f) => `  ${f.flag} <n>`.padEnd(33) + ` ${f.env} (default ${DEFAULT_PBFT_OPTIONS[f.key.slice(17) as keyof typeof DEFAULT_PBFT_OPTIONS]})`)
  return `Usage: wspeer start [options]

Runs one peer until SIGINT/SIGTERM. Precedence: flags > WSPEER_* env > config file > defaults.

Options (environment variable in brackets):
  --config <file.json>            a JSON config file [WSPEER_CONFIG]
  --id <id>                       peer ID (default vp0) [WSPEER_ID]
  --host <host>                   interface to bind (default ${DEFAULT_HOST}) [WSPEER_HOST]
  --port <port>                   chat + HTTP port, 0 for any (default ${DEFAULT_PORT}) [WSPEER_PORT]
  --address <ws-url>              chat URL others dial (default ws://<host>:<port>/chat) [WSPEER_ADDRESS]
  --peers <url,url>               bootstrap chat URLs [WSPEER_PEERS]
  --consensus <name>              consensus plugin: ${consenterNames().join(', ')} (default ${DEFAULT_CONSENSUS}) [WSPEER_CONSENSUS]
  --consensus-options <json>      plugin options as a JSON object [WSPEER_CONSENSUS_OPTIONS]
  --role <role>                   validator | non-validator (default validator) [WSPEER_ROLE]
  --log-level <level>             ${LOG_LEVELS.join(' | ')} (default info) [WSPEER_LOG_LEVEL]
  --static-dir <dir>              dashboard files served at / (default dist/web when built) [WSPEER_STATIC_DIR]
  --max-pending-connections <n>   /chat connections not yet past HELLO; more get 503 (default ${DEFAULT_MAX_PENDING_CONNECTIONS}) [WSPEER_MAX_PENDING_CONNECTIONS]
  --max-pending-connections-per-address <n>  of those, from one address; more get 503 (default ${DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS}) [WSPEER_MAX_PENDING_CONNECTIONS_PER_ADDRESS]
  --max-connections-per-second <n>  new /chat connections per second per address; more get 429 (default ${DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS}) [WSPEER_MAX_CONNECTIONS_PER_SECOND]
  -h, --help                      this help

Storage (README "Durability"):
  --ledger <kind>                 level: the chain in LevelDB under <data-dir>/ledger, kept across restarts;
                                  memory: gone at stop (default ${DEFAULT_LEDGER}) [WSPEER_LEDGER]
  --fsync <when>                  when ledger writes are forced to disk: block | checkpoint | never
                                  (default ${DEFAULT_FSYNC_POLICY}) [WSPEER_FSYNC]

Identity and TLS (SECURITY.md):
  --data-dir <dir>                where the key and the ledger live, created 0700 on first start (default ~/.wspeer/<id>) [WSPEER_DATA_DIR]
  --membership <file.json>        validators bound to public keys; without it: open development mode [WSPEER_MEMBERSHIP]
  --aliases <url,url>             other chat URLs dialers may use for this peer (a proxy, a DNS name) [WSPEER_ALIASES]
  --tls-cert <file.pem>           certificate chain: serve https:// and wss:// (needs --tls-key) [WSPEER_TLS_CERT]
  --tls-key <file.pem>            the certificate's private key [WSPEER_TLS_KEY]
  --tls-ca <file.pem>             CA certificates trusted when dialing wss:// peers, besides the system's [WSPEER_TLS_CA]

Limits (positive integers):
${limitFlags.join('\n')}

PBFT (with --consensus pbft; each lands in the plugin's options, checked at start):
  --validators <id,id,...>        the validator set; a replica's index is its position [WSPEER_PBFT_VALIDATORS]
${pbftFlags.join('\n')}

Node flags: \`wspeer network\` starts its peers with fewer full GC pauses and bounded malloc growth
under load (src/node/peer-process.ts). To run a peer the same way:
  ${peerEnvText()} node ${peerNodeArgs().join(' ')} bin/wspeer.js start ...
`
}

const NETWORK_HELP = `Usage: wspeer network [options]

Starts validating peers vp0..vpN-1 as child processes on consecutive ports; vp1.. know only vp0's
address and find each other by discovery. Refuses ports already in use, then prints the
addresses once all answer /status. A peer that dies after that is restarted (with backoff,
said on stderr); one that dies ${NETWORK_MAX_RESTARTS} times in a row stops the network.
Ctrl+C (SIGINT) or SIGTERM stops them all.

Options:
  --peers <n>          how many peers, 1-${MAX_NETWORK_PEERS} (default ${DEFAULT_NETWORK_PEERS})
  --base-port <port>   vp0's port; vp<i> gets base-port + i (default ${DEFAULT_BASE_PORT})
  --consensus <name>   consensus plugin (default ${DEFAULT_CONSENSUS})
  --host <host>        interface the peers bind (default ${DEFAULT_HOST})
  --log-level <level>  the children's log level (default ${DEFAULT_NETWORK_LOG_LEVEL}); lines are prefixed with the peer ID
  --data-dir <dir>     keys of vp0..vpN-1 in <dir>/vp<i>, and the membership.json binding them
                       (default ${'~/.wspeer/network'}); created on first run, reused after
  --initial-old-space-mb <n>
                       each peer's initial V8 old generation in MiB, 0-${MAX_INITIAL_OLD_SPACE_MB}; 0 keeps V8's
                       own sizing (default ${DEFAULT_INITIAL_OLD_SPACE_MB}: fewer full GC pauses under load)
  -h, --help           this help

Every peer gets a key and the network a closed membership of exactly these peers, so the
network runs authenticated (no open development mode).
`

const KEYGEN_HELP = `Usage: wspeer keygen [--id <id>] [--data-dir <dir>] [--json]

Creates the peer's key in its data directory if there is none (0600, directory 0700), and prints
its public key and key id: what a membership file entry needs.

Options:
  --id <id>          the peer ID (default ${DEFAULT_PEER_ID}); names the entry and the default directory
  --data-dir <dir>   the data directory (default ~/.wspeer/<id>)
  --json             print JSON: {"id", "publicKey", "publicKeyBase64", "keyId", "path", "created"}
  -h, --help         this help
`

/** The CA option of the commands that talk to a peer over HTTP(S). */
const CA_HELP = `  --ca <file.pem>  CA certificates trusted for an https:// peer, besides the system's [WSPEER_TLS_CA]
                   (or NODE_EXTRA_CA_CERTS=<file.pem>, which Node reads at start for every connection)`

const TX_HELP = `Usage: wspeer tx <payload> [--to <url>] [--wait [--timeout <ms>]] [--ca <file.pem>]

Submits a transaction (POST /transactions) and prints its txid. With --wait, then asks the same
peer (GET /transactions/<txid>) every ${TX_WAIT_POLL_MS} ms until it is committed, and prints
"committed in block <n> (index <i>)"; exits 1 if it is not committed in time.

Options:
  --to <url>       the peer's HTTP URL (default ${DEFAULT_PEER_URL})
  --wait           wait until the transaction is committed
  --timeout <ms>   how long --wait waits (default ${TX_WAIT_TIMEOUT_MS}, at most ${MAX_TX_WAIT_TIMEOUT_MS})
${CA_HELP}
  -h, --help   this help
`

const BLOCK_HELP = `Usage: wspeer block <n> [--to <url>] [--ca <file.pem>]

Prints block <n> of a peer's chain (GET /blocks/<n>) as JSON: number, hash, previousBlockHash,
stateHash, timestamp, proposer and the transactions. Exits 1 when the peer has no such block.

Options:
  --to <url>   the peer's HTTP URL (default ${DEFAULT_PEER_URL})
${CA_HELP}
  -h, --help   this help
`

const GET_HELP = `Usage: wspeer get <key> [--to <url>] [--ca <file.pem>]

Prints the value <key> holds in a peer's state (GET /state/<key>); a transaction "key=value"
sets "key". Exits 1 when the key holds nothing.

Options:
  --to <url>   the peer's HTTP URL (default ${DEFAULT_PEER_URL})
${CA_HELP}
  -h, --help   this help
`

const STATUS_HELP = `Usage: wspeer status [url] [--json] [--ca <file.pem>]

Prints a peer's status (GET /status) as a summary.

Arguments:
  url          the peer's HTTP URL or its /status URL (default ${DEFAULT_PEER_URL})
Options:
  --json       print the raw JSON instead
${CA_HELP}
  -h, --help   this help
`

function parse<T extends Record<string, { type: 'string' | 'boolean'; short?: string }>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true })
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
}

function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h')
}

function parsePositiveInt(text: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback
  const rule = { min, max }
  const value = integerWithin(text, rule, true)
  if (value === undefined) throw new UsageError(`${name} must be ${describeIntegerRule(rule)}, got ${JSON.stringify(text)}`)
  return value
}

function baseUrl(text: string, suffix: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`not a URL: ${JSON.stringify(text)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`not an http:// URL: ${JSON.stringify(text)}`)
  const path = url.pathname.replace(/\/+$/, '')
  url.pathname = path.endsWith(suffix) ? path : `${path}${suffix}`
  url.search = ''
  return url.toString()
}

/** TLS errors that a CA option would cure. */
const UNTRUSTED_CERT_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
])

/**
 * The io a peer-facing command fetches through: with `--ca` (else WSPEER_TLS_CA, the variable the
 * peers read for the same file) its fetch trusts that CA too; without, `io` unchanged.
 */
async function withCa(io: CliIo, caFlag: string | undefined): Promise<CliIo> {
  const path = caFlag ?? io.env['WSPEER_TLS_CA']
  if (path === undefined || path === '') return io
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read the CA file ${path}: ${describeError(err)}`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`the CA file ${path} holds no PEM certificate`)
  return { ...io, fetch: createCaFetch(pem) }
}

async function fetchJson(
  io: CliIo,
  url: string,
  init: RequestInit = {},
  timeoutMs = HTTP_CLIENT_TIMEOUT_MS,
): Promise<{ status: number; ok: boolean; body: unknown }> {
  let res: Response
  try {
    res = await io.fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : ''
    const code = err instanceof Error ? (err.cause as { code?: unknown } | undefined)?.code : undefined
    const hint = typeof code === 'string' && UNTRUSTED_CERT_CODES.has(code) ? ' (trust its CA with --ca <file.pem> or WSPEER_TLS_CA)' : ''
    throw new Error(`cannot reach ${url}: ${describeError(err)}${cause}${hint}`, { cause: err })
  }
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // Not JSON; report the text as is.
  }
  return { status: res.status, ok: res.ok, body }
}

function errorText(status: number, body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error
  if (error !== undefined && typeof error === 'object') return `HTTP ${status} ${String(error.code)}: ${String(error.message)}`
  return `HTTP ${status}: ${typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body)}`
}

// ---- commands ----

async function commandStart(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(startHelp())
    return 0
  }
  const config = resolveConfig({ argv: args, env: io.env })
  if (config.staticDir === undefined && existsSync(DEFAULT_STATIC_DIR)) config.staticDir = DEFAULT_STATIC_DIR
  // A peer started from the command line keeps its key: its key id (and membership entry) must survive restarts.
  config.dataDir ??= defaultDataDir(config.id)
  const log = createNodeLogger({ level: config.logLevel })
  // Subscribed before starting, so a signal during start-up still ends in a clean stop.
  let signalled: (name: string) => void = () => {}
  const firstSignal = new Promise<string>((resolve) => {
    signalled = resolve
  })
  let signals = 0
  const unsubscribe = io.onShutdown((name) => {
    if (signals++ === 0) signalled(name)
    // A terminal's Ctrl+C reaches both `wspeer network` and its children: repeats are expected.
    else log.info('already shutting down', { signal: name })
  })
  try {
    const node = await startNodePeer(config, { log })
    const cliLog = log.child({ peer: config.id })
    const scheme = config.tlsCert === undefined ? 'http' : 'https'
    cliLog.info('wspeer peer ready', { address: node.address, http: `${scheme}://${urlHost(config.host)}:${node.port}/` })
    cliLog.info('shutting down', { signal: await firstSignal })
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)
    })
    const outcome = await Promise.race([node.stop().then(() => 'stopped' as const), timedOut])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      cliLog.error('stop timed out', { timeoutMs: STOP_TIMEOUT_MS })
      return 1
    }
    return 0
  } finally {
    unsubscribe()
  }
}

async function commandNetwork(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(NETWORK_HELP)
    return 0
  }
  const { values, positionals } = parse(args, {
    peers: { type: 'string' },
    'base-port': { type: 'string' },
    consensus: { type: 'string' },
    host: { type: 'string' },
    'log-level': { type: 'string' },
    'data-dir': { type: 'string' },
    'initial-old-space-mb': { type: 'string' },
  })
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  const initialOldSpaceMb = parsePositiveInt(values['initial-old-space-mb'], '--initial-old-space-mb', DEFAULT_INITIAL_OLD_SPACE_MB, 0, MAX_INITIAL_OLD_SPACE_MB)
  const peers = parsePositiveInt(values.peers, '--peers', DEFAULT_NETWORK_PEERS, 1, MAX_NETWORK_PEERS)
  const basePort = parsePositiveInt(values['base-port'], '--base-port', DEFAULT_BASE_PORT, 1, 65535 - peers + 1)
  const logLevel = values['log-level'] ?? DEFAULT_NETWORK_LOG_LEVEL
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`)
  const consensus = values.consensus ?? DEFAULT_CONSENSUS
  if (!consenterNames().includes(consensus.trim().toLowerCase())) {
    throw new UnknownConsenterError(consensus, consenterNames())
  }
  const dataDir = resolvePath(values['data-dir'] ?? join(defaultDataRoot(), 'network'))
  return runNetwork({ peers, basePort, consensus, host: values.host ?? DEFAULT_HOST, logLevel: logLevel as LogLevel, dataDir, initialOldSpaceMb }, io)
}

async function commandKeygen(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(KEYGEN_HELP)
    return 0
  }
  const { values, positionals } = parse(args, { id: { type: 'string' }, 'data-dir': { type: 'string' }, json: { type: 'boolean' } })
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`)
  const id = values.id ?? DEFAULT_PEER_ID
  const result = await keygen(resolvePath(values['data-dir'] ?? defaultDataDir(id)))
  if (values.json === true) {
    io.stdout(`${JSON.stringify({ id, ...result })}\n`)
    return 0
  }
  io.stdout(
    `${result.created ? 'created' : 'existing'} key ${result.path}\n` +
      `key id:     ${result.keyId}\n` +
      `public key: ${result.publicKey}\n\n` +
      `membership entry:\n  ${JSON.stringify({ id, publicKey: result.publicKey })}\n`,
  )
  return 0
}

async function commandTx(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(TX_HELP)
    return 0
  }
  const { values, positionals } = parse(args, {
    to: { type: 'string' },
    ca: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  })
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <payload>' : 'give exactly one <payload> (quote it)')
  if (values.timeout !== undefined && values.wait !== true) throw new UsageError('--timeout is for --wait')
  const timeoutMs = parsePositiveInt(values.timeout, '--timeout', TX_WAIT_TIMEOUT_MS, 1, MAX_TX_WAIT_TIMEOUT_MS)
  const url = baseUrl(values.to ?? DEFAULT_PEER_URL, '/transactions')
  io = await withCa(io, values.ca)
  const { ok, status, body } = await fetchJson(io, url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ payload: positionals[0] }),
  })
  const txid = (body as { txid?: unknown } | undefined)?.txid
  if (!ok || typeof txid !== 'string') {
    io.stderr(`wspeer tx: ${errorText(status, body)}\n`)
    return 1
  }
  io.stdout(`${txid}\n`)
  if (values.wait !== true) return 0
  return waitForCommit(io, `${url}/${encodeURIComponent(txid)}`, timeoutMs)
}

/**
 * Polls GET /transactions/<txid> until it answers committed (exit 0) or `timeoutMs` passes (exit 1).
 * A 404 is not final: a peer that passed the transaction on at once (a PBFT non-validator) holds
 * nothing until the block reaches it. Nor is an unreachable peer: it may be restarting.
 */
async function waitForCommit(io: CliIo, url: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer yet'
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) break
    try {
      const { status, body } = await fetchJson(io, url, {}, Math.min(left, HTTP_CLIENT_TIMEOUT_MS))
      const answer = body as { status?: unknown; block?: unknown; index?: unknown } | undefined
      if (status === 200 && answer?.status === 'committed' && typeof answer.block === 'number') {
        io.stdout(`committed in block ${answer.block} (index ${String(answer.index)})\n`)
        return 0
      }
      last = status === 202 ? 'pending' : errorText(status, body)
    } catch (err) {
      // A poll the deadline itself cut short is no answer: the user is told the last real one.
      if (Date.now() < deadline || last === 'no answer yet') last = describeError(err)
    }
    const pause = Math.min(TX_WAIT_POLL_MS, deadline - Date.now())
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause))
  }
  io.stderr(`wspeer tx: not committed within ${timeoutMs} ms (last answer: ${last})\n`)
  return 1
}

function summarize(status: PeerStatus): string {
  const lines = [
    `${status.id} (${status.role}) ${status.address || '(no address)'}`,
    `consensus: ${status.consensus?.plugin ?? '?'}`,
    `identity:  key ${status.identity?.keyId ?? '?'}, ${status.identity?.mode === 'closed' ? `closed membership of ${status.identity.members}` : 'OPEN DEVELOPMENT MODE (no membership)'}`,
    `chain:     height ${status.chain?.height ?? '?'}, head ${status.chain?.headHash ?? '?'}`,
    `uptime:    ${Math.round((status.uptimeMs ?? 0) / 1000)} s`,
    `peers (${status.peers?.length ?? 0}):`,
    ...(status.peers ?? []).map((p) => `  ${p.id.padEnd(12)} ${p.role.padEnd(13)} ${(p.address || '(no address)').padEnd(28)} ${p.keyId ?? ''}`.trimEnd()),
  ]
  const busy = (status.queues ?? []).filter((q) => q.depth > 0 || q.rejects > 0)
  if (busy.length > 0) {
    lines.push('queues:')
    for (const q of busy) lines.push(`  ${q.peer.padEnd(12)} depth ${q.depth}, ${q.bytes} bytes, ${q.rejects} rejects`)
  }
  return `${lines.join('\n')}\n`
}

/** GET <to><path> and print what `show` makes of the JSON body; 1 with the peer's error otherwise. */
async function readRoute(name: string, args: string[], io: CliIo, help: string, path: (arg: string) => string, show: (body: unknown) => string): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(help)
    return 0
  }
  const { values, positionals } = parse(args, { to: { type: 'string' }, ca: { type: 'string' } })
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing argument' : 'give exactly one argument (quote it)')
  io = await withCa(io, values.ca)
  const base = baseUrl(values.to ?? DEFAULT_PEER_URL, '')
  const { ok, status, body } = await fetchJson(io, `${base.replace(/\/+$/, '')}${path(positionals[0]!)}`)
  if (!ok) {
    io.stderr(`wspeer ${name}: ${errorText(status, body)}\n`)
    return 1
  }
  io.stdout(show(body))
  return 0
}

function commandBlock(args: string[], io: CliIo): Promise<number> {
  return readRoute('block', args, io, BLOCK_HELP, (n) => {
    if (!/^\d+$/.test(n)) throw new UsageError(`<n> must be a block number, got ${JSON.stringify(n)}`)
    return `/blocks/${n}`
  }, (body) => `${JSON.stringify(body, null, 2)}\n`)
}

function commandGet(args: string[], io: CliIo): Promise<number> {
  return readRoute('get', args, io, GET_HELP, (key) => `/state/${encodeURIComponent(key)}`, (body) => `${String((body as { value?: unknown }).value)}\n`)
}

async function commandStatus(args: string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.stdout(STATUS_HELP)
    return 0
  }
  const { values, positionals } = parse(args, { json: { type: 'boolean' }, ca: { type: 'string' } })
  if (positionals.length > 1) throw new UsageError('give at most one URL')
  io = await withCa(io, values.ca)
  const url = baseUrl(positionals[0] ?? DEFAULT_PEER_URL, '/status')
  const { ok, status, body } = await fetchJson(io, url)
  if (!ok || typeof body !== 'object' || body === null) {
    io.stderr(`wspeer status: ${errorText(status, body)}\n`)
    return 1
  }
  io.stdout(values.json === true ? `${JSON.stringify(body, null, 2)}\n` : summarize(body as PeerStatus))
  return 0
}

const COMMANDS: Record<string, { run: (args: string[], io: CliIo) => Promise<number>; help: () => string }> = {
  start: { run: commandStart, help: startHelp },
  network: { run: commandNetwork, help: () => NETWORK_HELP },
  tx: { run: commandTx, help: () => TX_HELP },
  status: { run: commandStatus, help: () => STATUS_HELP },
  block: { run: commandBlock, help: () => BLOCK_HELP },
  get: { run: commandGet, help: () => GET_HELP },
  keygen: { run: commandKeygen, help: () => KEYGEN_HELP },
}

/** Runs one command line (without `node` and the script); resolves with the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined) {
    io.stderr(TOP_HELP)
    return 2
  }
  if (name === '--help' || name === '-h') {
    io.stdout(TOP_HELP)
    return 0
  }
  if (name === 'help') {
    const topic = args[0] === undefined ? undefined : COMMANDS[args[0]]
    io.stdout(topic === undefined ? TOP_HELP : topic.help())
    return 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    io.stderr(`wspeer: unknown command ${JSON.stringify(name)}\n\n${TOP_HELP}`)
    return 2
  }
  try {
    return await command.run(args, io)
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`wspeer ${name}: ${err.message}\n\n${command.help()}`)
      return 2
    }
    io.stderr(`wspeer ${name}: ${failureText(err)}\n`)
    return 1
  }
}

/** One line for a failure a user can act on; the stack only for what is not a known error. */
function failureText(err: unknown): string {
  if (err instanceof ConfigError || err instanceof UnknownConsenterError) return err.message
  const code = (err as { code?: unknown } | null)?.code
  const e = err as { address?: string; port?: number }
  if (code === 'EADDRINUSE') return `port ${e.port ?? '?'} on ${e.address ?? '?'} is already in use`
  if (code === 'EACCES') return `no permission to listen on port ${e.port ?? '?'} on ${e.address ?? '?'}`
  if (code === 'EADDRNOTAVAIL') return `cannot bind ${e.address ?? '?'}: no such local address`
  return err instanceof Error ? err.message : String(err)
}

/** bin/wspeer.js: runs main, sets the exit code, and forces the exit if stray handles hold it. */
export async function run(argv: string[]): Promise<void> {
  const code = await main(argv)
  process.exitCode = code
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref()
}
