/**
 * Peer configuration for the Node entry. Four layers, in increasing precedence: built-in
 * defaults, a JSON config file (`--config file.json` or WSPEER_CONFIG), `WSPEER_*` environment
 * variables, then command-line flags. Raw strings and JSON values enter; one validated
 * PeerNodeConfig leaves, or a ConfigError naming the source (flag, env, file) and the key.
 *
 * Names derive from one key list so the three spellings cannot drift: the key `logLevel` is the
 * file key `logLevel`, the variable WSPEER_LOG_LEVEL and the flag `--log-level`; a limit such as
 * `queueMaxMessages` is `limits.queueMaxMessages` in the file (or `queueMaxMessages` at its top
 * level), WSPEER_QUEUE_MAX_MESSAGES and `--queue-max-messages`. docs/config.example.json holds
 * every key. The two connection admission limits are the server's, not the core's, so
 * they are top-level settings (`maxPendingConnections`, WSPEER_MAX_PENDING_CONNECTIONS,
 * `--max-pending-connections`), not `limits.*`.
 *
 * Strictness: unknown flags, unknown file keys and unknown WSPEER_* variables are errors (a typo
 * must not silently fall back to a default), except the test harness's WSPEER_E2E_* ones. An empty environment variable counts as unset.
 * `consensusOptions` objects from several layers merge shallowly, higher layers winning per key;
 * every other value is replaced whole.
 *
 *   const config = resolveConfig({ argv: ['--id', 'vp1', '--port', '7052'], env: process.env })
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve as resolvePath } from 'node:path'
import { parseArgs } from 'node:util'
import { ConfigError } from '../core/errors.js'
import { DEFAULT_PEER_LIMITS, resolvePeerLimits } from '../core/peer/limits.js'
import { PEER_ID_RULE, isPeerId } from '../core/wire/peer-id.js'
import type { PeerLimits } from '../core/peer/limits.js'
import type { ConsenterOptions } from '../core/consensus/consenter.js'
import type { PeerRole } from '../core/wire/payload-types.js'
import { POSITIVE_INTEGER, describeIntegerRule, integerWithin, showValue, type IntegerRule } from '../core/util/integer-options.js'
import { LOG_LEVELS } from '../core/util/logger.js'
import type { LogLevel } from '../core/util/logger.js'
import {
  DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
} from './connection-limiter.js'
import { DEFAULT_PBFT_OPTIONS } from '../core/consensus/pbft/config.js'
import { DEFAULT_FSYNC_POLICY, FSYNC_POLICIES, type FsyncPolicy } from '../core/ledger/ledger-store.js'

export interface PeerNodeConfig {
  /** Unique peer ID. */
  id: string
  /** Interface the server binds. */
  host: string
  /** Port of the chat endpoint and the HTTP API; 0 picks a free one. */
  port: number
  /** Chat URL other peers dial, as announced in HELLO; default `ws://<host>:<port>/chat`. */
  address: string
  role: PeerRole
  /** Consenter plugin name; unknown names fail when the peer starts. */
  consensus: string
  consensusOptions: ConsenterOptions
  /** Bootstrap chat URLs. */
  peers: string[]
  logLevel: LogLevel
  limits: PeerLimits
  /** Directory of the built dashboard served at `/`, when set. */
  staticDir?: string
  /** /chat connections still in their HELLO exchange; more get 503. Default DEFAULT_MAX_PENDING_CONNECTIONS (64). */
  maxPendingConnections: number
  /** Of those, from one remote address; more get 503. Default DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS (8). */
  maxPendingConnectionsPerAddress: number
  /** New /chat connections per second per remote address; more get 429. Default DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS (20). */
  maxConnectionsPerSecond: number
  /**
   * Where the peer keeps its key (`peer.key`, 0600 in a 0700 directory). `wspeer start` defaults
   * it to `defaultDataDir(id)` (~/.wspeer/<id>); a library caller without one gets an in-memory key.
   */
  dataDir?: string
  /** Membership file binding validator IDs to public keys; without it the peer runs in open development mode. */
  membership?: string
  /** Other chat URLs dialers may use for this peer (a proxy, a DNS name); loopback and interface addresses are added by themselves. */
  aliases: string[]
  /** PEM certificate chain: with `tlsKey`, the server speaks https/wss. */
  tlsCert?: string
  /** PEM private key of `tlsCert`. */
  tlsKey?: string
  /** PEM CA certificates this peer trusts when dialing wss:// peers, besides the system's. */
  tlsCa?: string
  /**
   * Where the chain is kept: 'level' (LevelDB under `<dataDir>/ledger`, surviving restarts) or
   * 'memory' (gone when the peer stops). Default DEFAULT_LEDGER ('level'); a peer without a data
   * directory keeps it in memory.
   */
  ledger: LedgerKind
  /** When ledger writes are forced to disk: block | checkpoint | never. Default DEFAULT_FSYNC_POLICY ('block'). */
  fsync: FsyncPolicy
}

/** Ledger kinds `--ledger` takes. */
export type LedgerKind = 'level' | 'memory'
export const LEDGER_KINDS: readonly LedgerKind[] = ['level', 'memory']
export const DEFAULT_LEDGER: LedgerKind = 'level'

/** Default peer ID. */
export const DEFAULT_PEER_ID = 'vp0'
/** Default bind host: loopback, so a peer is never exposed by accident. */
export const DEFAULT_HOST = '127.0.0.1'
/** Default port (Fabric v0.6's peer port). */
export const DEFAULT_PORT = 7051
export const DEFAULT_ROLE: PeerRole = 'validator'
export const DEFAULT_CONSENSUS = 'noops'
export const DEFAULT_CONFIG_LOG_LEVEL: LogLevel = 'info'
/** Prefix of every environment variable read here. */
export const ENV_PREFIX = 'WSPEER_'
/** Names the config file when `--config` is absent. */
export const CONFIG_ENV = 'WSPEER_CONFIG'
/**
 * Variables under this prefix belong to the project's own test harness (`WSPEER_E2E_BASE_PORT`,
 * e2e/README.md), not to a peer: ignored here, so a shell that exported one for the browser tests
 * can still start peers and run the tests that spawn them.
 */
export const TEST_HARNESS_ENV_PREFIX = 'WSPEER_E2E_'

type Settable = Exclude<keyof PeerNodeConfig, 'limits'>
type Layer = Partial<Omit<PeerNodeConfig, 'limits'>> & { limits?: Partial<PeerLimits> }

/** Where a value came from, for error messages. */
interface Where {
  label: string
  /** Relative paths resolve against this directory. */
  baseDir: string
}

interface Field<T> {
  fromString(text: string, where: Where): T
  fromJson(value: unknown, where: Where): T
}

function fail(where: Where, problem: string): never {
  throw new ConfigError(`invalid ${where.label}: ${problem}`)
}

function stringField(check: (text: string, where: Where) => string): Field<string> {
  return {
    fromString: check,
    fromJson: (value, where) => (typeof value === 'string' ? check(value, where) : fail(where, `must be a string, got ${showValue(value)}`)),
  }
}

/** An integer setting, checked by the rule every numeric option shares (core/util/integer-options.ts). */
function integerField(rule: IntegerRule): Field<number> {
  const what = describeIntegerRule(rule)
  const check = (value: unknown, where: Where, digits: boolean): number => integerWithin(value, rule, digits) ?? fail(where, `must be ${what}, got ${showValue(value)}`)
  return {
    // Text (flags, environment): digits only; a config file's JSON must hold a number.
    fromString: (text, where) => check(text, where, true),
    fromJson: (value, where) => check(value, where, false),
  }
}

function chatUrl(text: string, where: Where): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return fail(where, `must be a ws:// or wss:// URL, got ${showValue(text)}`)
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') fail(where, `must be a ws:// or wss:// URL, got ${showValue(text)}`)
  return text
}

const idField = stringField((text, where) =>
  isPeerId(text) ? text : fail(where, `must be ${PEER_ID_RULE}, got ${showValue(text)}`),
)

const hostField = stringField((text, where) => (/^[^\s/]+$/.test(text) ? text : fail(where, `must be a host name or IP address, got ${showValue(text)}`)))

const roleField = stringField((text, where) =>
  text === 'validator' || text === 'non-validator' ? text : fail(where, `must be validator or non-validator, got ${showValue(text)}`),
) as Field<PeerRole>

const consensusField = stringField((text, where) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(text) ? text : fail(where, `must be a consensus plugin name, got ${showValue(text)}`),
)

/** A string that must be one of `choices`. */
function choiceField<T extends string>(choices: readonly T[]): Field<T> {
  return stringField((text, where) =>
    (choices as readonly string[]).includes(text) ? text : fail(where, `must be one of ${choices.join(', ')}, got ${showValue(text)}`),
  ) as Field<T>
}

const logLevelField = choiceField(LOG_LEVELS)

const pathField = stringField((text, where) => (text.length > 0 ? resolvePath(where.baseDir, text) : fail(where, 'must not be empty')))
const staticDirField = pathField

const chatUrlsField: Field<string[]> = {
  fromString: (text, where) =>
    text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => chatUrl(s, where)),
  fromJson: (value, where) =>
    Array.isArray(value) ? value.map((s) => (typeof s === 'string' ? chatUrl(s, where) : fail(where, `entries must be strings, got ${showValue(s)}`))) : fail(where, `must be an array of ws:// URLs, got ${showValue(value)}`),
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype
}

const consensusOptionsField: Field<ConsenterOptions> = {
  fromString: (text, where) => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return fail(where, `must be a JSON object, got ${showValue(text)}`)
    }
    return consensusOptionsField.fromJson(value, where)
  },
  fromJson: (value, where) => (isPlainObject(value) ? { ...value } : fail(where, `must be a JSON object, got ${showValue(value)}`)),
}

const FIELDS: { [K in Settable]-?: Field<NonNullable<PeerNodeConfig[K]>> } = {
  id: idField,
  host: hostField,
  port: integerField({ min: 0, max: 65535 }),
  address: stringField(chatUrl),
  role: roleField,
  consensus: consensusField,
  consensusOptions: consensusOptionsField,
  peers: chatUrlsField,
  logLevel: logLevelField,
  staticDir: staticDirField,
  maxPendingConnections: integerField(POSITIVE_INTEGER),
  maxConnectionsPerSecond: integerField(POSITIVE_INTEGER),
  maxPendingConnectionsPerAddress: integerField(POSITIVE_INTEGER),
  dataDir: pathField,
  membership: pathField,
  aliases: chatUrlsField,
  tlsCert: pathField,
  tlsKey: pathField,
  tlsCa: pathField,
  ledger: choiceField(LEDGER_KINDS),
  fsync: choiceField(FSYNC_POLICIES),
}

const SETTABLE_KEYS = Object.keys(FIELDS) as Settable[]

/**
 * PBFT's options, settable one by one: `--validators vp0,vp1,...` / WSPEER_PBFT_VALIDATORS, and
 * `--pbft-batch-size 100` / WSPEER_PBFT_BATCH_SIZE for each numeric option. They land in
 * consensusOptions, where the PBFT plugin checks them (numbers as strings are accepted there).
 */
const PBFT_KEYS = ['validators', ...Object.keys(DEFAULT_PBFT_OPTIONS)]

function pbftFlagName(key: string): string {
  return key === 'validators' ? 'validators' : `pbft-${flagName(key)}`
}

function pbftEnvName(key: string): string {
  return `${ENV_PREFIX}PBFT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
}

function setPbft(layer: Layer, key: string, text: string, where: Where): void {
  if (text.trim() === '') fail(where, 'must not be empty')
  layer.consensusOptions = { ...layer.consensusOptions, [key]: text }
}
const LIMIT_KEYS = Object.keys(DEFAULT_PEER_LIMITS) as (keyof PeerLimits)[]
const limitField = integerField(POSITIVE_INTEGER)

/** `queueMaxMessages` -> `queue-max-messages` */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

/** `queueMaxMessages` -> `WSPEER_QUEUE_MAX_MESSAGES` */
export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()
}

/** A host as it is written in a URL: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

/** The chat URL a peer on host:port announces when no address is configured (`wss://` with TLS). */
export function defaultChatAddress(host: string, port: number, tls = false): string {
  return `${tls ? 'wss' : 'ws'}://${urlHost(host)}:${port}/chat`
}

/** Root of the per-peer data directories `wspeer start` uses by default. */
export function defaultDataRoot(): string {
  return join(homedir(), '.wspeer')
}

/** Where `wspeer start` keeps a peer's key when `--data-dir` is not given: ~/.wspeer/<id>. */
export function defaultDataDir(id: string): string {
  return join(defaultDataRoot(), id)
}

/** Every flag `resolveConfig` accepts with its environment variable and config key, for help text. */
export function configFlags(): { flag: string; env: string; key: string }[] {
  return [
    { flag: '--config', env: CONFIG_ENV, key: 'config' },
    ...SETTABLE_KEYS.map((key) => ({ flag: `--${flagName(key)}`, env: envName(key), key })),
    ...LIMIT_KEYS.map((key) => ({ flag: `--${flagName(key)}`, env: envName(key), key: `limits.${key}` })),
    ...PBFT_KEYS.map((key) => ({ flag: `--${pbftFlagName(key)}`, env: pbftEnvName(key), key: `consensusOptions.${key}` })),
  ]
}

function setFromString(layer: Layer, key: string, text: string, where: Where): void {
  if ((LIMIT_KEYS as string[]).includes(key)) {
    layer.limits = { ...layer.limits, [key]: limitField.fromString(text, where) }
  } else {
    const k = key as Settable
    ;(layer as Record<string, unknown>)[k] = FIELDS[k].fromString(text, where)
  }
}

function fileLayer(path: string, readFile: (path: string) => string, cwd: string): Layer {
  const fullPath = resolvePath(cwd, path)
  const label = `config file ${path}`
  let text: string
  try {
    text = readFile(fullPath)
  } catch (err) {
    throw new ConfigError(`cannot read ${label}: ${err instanceof Error ? err.message : String(err)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`${label} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isPlainObject(json)) throw new ConfigError(`${label} must hold a JSON object`)
  const baseDir = dirname(fullPath)
  const layer: Layer = {}
  const limits: Partial<PeerLimits> = {}
  const setLimit = (limitKey: string, limitValue: unknown, limitWhere: Where): void => {
    if (!(LIMIT_KEYS as string[]).includes(limitKey)) fail(limitWhere, `unknown limit; known: ${LIMIT_KEYS.join(', ')}`)
    if (limits[limitKey as keyof PeerLimits] !== undefined) fail(limitWhere, `set twice, at the top level and under "limits"; keep one`)
    limits[limitKey as keyof PeerLimits] = limitField.fromJson(limitValue, limitWhere)
  }
  for (const [key, value] of Object.entries(json)) {
    const where = { label: `${label} key ${JSON.stringify(key)}`, baseDir }
    if (key === 'limits') {
      if (!isPlainObject(value)) fail(where, 'must be an object of limits')
      for (const [limitKey, limitValue] of Object.entries(value)) setLimit(limitKey, limitValue, { label: `${label} key "limits.${limitKey}"`, baseDir })
    } else if ((LIMIT_KEYS as string[]).includes(key)) {
      // A limit under the name its flag and variable are made from (`queueMaxMessages`), as users try first.
      setLimit(key, value, where)
    } else if (key === 'validators') {
      if (!Array.isArray(value) || !value.every((id) => typeof id === 'string')) fail(where, 'must be an array of peer IDs')
      layer.consensusOptions = { ...layer.consensusOptions, validators: [...(value as string[])] }
    } else if (key === 'consensusOptions') {
      // Merged, not replaced: a top-level "validators" before it in the file must survive.
      layer.consensusOptions = { ...consensusOptionsField.fromJson(value, where), ...layer.consensusOptions }
    } else if ((SETTABLE_KEYS as string[]).includes(key)) {
      const k = key as Settable
      ;(layer as Record<string, unknown>)[k] = FIELDS[k].fromJson(value, where)
    } else {
      fail(where, `unknown key; known: ${[...SETTABLE_KEYS, 'limits', 'validators', ...LIMIT_KEYS].join(', ')}`)
    }
  }
  if (Object.keys(limits).length > 0) layer.limits = limits
  return layer
}

function envLayer(env: Record<string, string | undefined>, cwd: string): Layer {
  const byName = new Map<string, string>()
  for (const key of [...SETTABLE_KEYS, ...LIMIT_KEYS]) byName.set(envName(key), key)
  const pbftByName = new Map(PBFT_KEYS.map((key) => [pbftEnvName(key), key]))
  const layer: Layer = {}
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_ENV || name.startsWith(TEST_HARNESS_ENV_PREFIX)) continue
    const where = { label: `env ${name}`, baseDir: cwd }
    const pbftKey = pbftByName.get(name)
    if (pbftKey !== undefined) {
      if (text !== undefined && text !== '') setPbft(layer, pbftKey, text, where)
      continue
    }
    const key = byName.get(name)
    if (key === undefined) fail(where, `unknown variable; known: ${[CONFIG_ENV, ...byName.keys(), ...pbftByName.keys()].join(', ')}`)
    if (text === undefined || text === '') continue
    setFromString(layer, key, text, where)
  }
  return layer
}

function flagLayer(argv: readonly string[], cwd: string): { layer: Layer; configPath: string | undefined } {
  const keys = [...SETTABLE_KEYS, ...LIMIT_KEYS] as string[]
  const options: Record<string, { type: 'string' }> = { config: { type: 'string' } }
  for (const key of keys) options[flagName(key)] = { type: 'string' }
  for (const key of PBFT_KEYS) options[pbftFlagName(key)] = { type: 'string' }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new ConfigError(`invalid flags: ${err instanceof Error ? err.message : String(err)}`)
  }
  const layer: Layer = {}
  for (const key of keys) {
    const text = values[flagName(key)]
    if (typeof text === 'string') setFromString(layer, key, text, { label: `flag --${flagName(key)}`, baseDir: cwd })
  }
  for (const key of PBFT_KEYS) {
    const text = values[pbftFlagName(key)]
    if (typeof text === 'string') setPbft(layer, key, text, { label: `flag --${pbftFlagName(key)}`, baseDir: cwd })
  }
  const configPath = values['config']
  return { layer, configPath: typeof configPath === 'string' ? configPath : undefined }
}

export interface ConfigSources {
  /** Flags, without the command name (`['--id', 'vp1']`). */
  argv?: readonly string[]
  env?: Record<string, string | undefined>
  /** Reads the config file; default readFileSync as UTF-8 (tests pass a fake). */
  readFile?: (path: string) => string
  /** Relative paths resolve against this; default process.cwd(). */
  cwd?: string
}

export function resolveConfig(sources: ConfigSources = {}): PeerNodeConfig {
  const cwd = sources.cwd ?? process.cwd()
  const env = sources.env ?? {}
  const readFile = sources.readFile ?? ((path: string) => readFileSync(path, 'utf8'))
  const flags = flagLayer(sources.argv ?? [], cwd)
  const envConfig = env[CONFIG_ENV]
  const configPath = flags.configPath ?? (envConfig === undefined || envConfig === '' ? undefined : envConfig)
  const layers: Layer[] = [
    configPath === undefined ? {} : fileLayer(configPath, readFile, cwd),
    envLayer(env, cwd),
    flags.layer,
  ]

  const merged: Layer = {}
  let limits: Partial<PeerLimits> = {}
  let consensusOptions: ConsenterOptions = {}
  for (const layer of layers) {
    const { limits: l, consensusOptions: o, ...rest } = layer
    Object.assign(merged, rest)
    limits = { ...limits, ...l }
    consensusOptions = { ...consensusOptions, ...o }
  }

  const host = merged.host ?? DEFAULT_HOST
  const port = merged.port ?? DEFAULT_PORT
  let resolvedLimits: PeerLimits
  try {
    resolvedLimits = resolvePeerLimits(limits)
  } catch (err) {
    // Each layer already checked its values; this only fires if resolvePeerLimits grows rules.
    throw new ConfigError(`invalid limits: ${err instanceof Error ? err.message : String(err)}`)
  }
  const config: PeerNodeConfig = {
    id: merged.id ?? DEFAULT_PEER_ID,
    host,
    port,
    address: merged.address ?? defaultChatAddress(host, port, merged.tlsCert !== undefined),
    role: merged.role ?? DEFAULT_ROLE,
    consensus: merged.consensus ?? DEFAULT_CONSENSUS,
    consensusOptions,
    peers: merged.peers ?? [],
    logLevel: merged.logLevel ?? DEFAULT_CONFIG_LOG_LEVEL,
    limits: resolvedLimits,
    maxPendingConnections: merged.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS,
    maxConnectionsPerSecond: merged.maxConnectionsPerSecond ?? DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
    maxPendingConnectionsPerAddress: merged.maxPendingConnectionsPerAddress ?? DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
    aliases: merged.aliases ?? [],
    ledger: merged.ledger ?? DEFAULT_LEDGER,
    fsync: merged.fsync ?? DEFAULT_FSYNC_POLICY,
  }
  if ((merged.tlsCert === undefined) !== (merged.tlsKey === undefined)) {
    throw new ConfigError('TLS needs both --tls-cert and --tls-key (or neither)')
  }
  for (const key of ['staticDir', 'dataDir', 'membership', 'tlsCert', 'tlsKey', 'tlsCa'] as const) {
    if (merged[key] !== undefined) config[key] = merged[key]
  }
  return config
}
