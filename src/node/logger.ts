/**
 * The Node logger: the core `Logger` interface over pino, one JSON object per line on stderr.
 * Messages enter as (msg, fields); each line carries `time` (ISO), `level` (its name), the bound
 * fields of every `child()` and the call's fields. Writes are synchronous so the last lines
 * before a crash or `process.exit` are never lost (a peer logs little; throughput is not the
 * concern here, losing the reason a peer died is).
 *
 *   const log = createNodeLogger({ level: 'info' }).child({ peer: 'vp0' })
 *   log.info('listening', { port: 7051 })
 *   // {"level":"info","time":"2025-...","peer":"vp0","port":7051,"msg":"listening"}
 *
 * Every line is a JSON object with unique keys (pino itself would repeat a key bound twice, and
 * JSON parsers then keep only one of them: the local peer's ID or a remote's error text was lost).
 * So the wrapper tracks the keys already on the line: a child re-binding a key to the same value is
 * a no-op, and a key that is bound, or is one of pino's own (`level`, `time`, `msg`), is written
 * under a renamed key (RENAMED_KEYS, else `<key>Field`): `peer` of a call under a logger bound to
 * the local `peer` becomes `remotePeer`, a call's `msg` becomes `remoteMessage`.
 */
import pino from 'pino'
import { ConfigError } from '../core/errors.js'
import { LOG_LEVELS } from '../core/util/logger.js'
import type { LogFields, Logger, LogLevel } from '../core/util/logger.js'

/** Level used when none is configured. */
export const DEFAULT_LOG_LEVEL: LogLevel = 'info'

export interface NodeLoggerOptions {
  /** Lowest level written; default DEFAULT_LOG_LEVEL. */
  level?: LogLevel
  /** Fields bound to every line. */
  bindings?: LogFields
  /** Where lines go; default stderr (fd 2), synchronous. Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value)
}

export function createNodeLogger(options: NodeLoggerOptions = {}): Logger {
  const level = options.level ?? DEFAULT_LOG_LEVEL
  if (!isLogLevel(level)) throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${String(level)}`)
  const root = pino(
    {
      level,
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // The core logs errors under `error` and `cause` as well as pino's own `err`.
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err, cause: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  )
  if (options.bindings === undefined) return wrap(root)
  const bindings = uniqueFields(options.bindings, new Map())
  return wrap(root.child(bindings), new Map(Object.entries(bindings)))
}

/** Keys pino writes on every line itself. */
const RESERVED_KEYS: readonly string[] = ['level', 'time', 'msg']

/**
 * How a field is renamed when its key is already on the line: in this code base a `peer` bound on
 * a logger is the local peer and a `peer` in a call's fields the remote one; a call's `msg` is text
 * from somewhere else (a remote's refusal). Other keys get the suffix `Field`.
 */
export const RENAMED_KEYS: Readonly<Record<string, string>> = Object.freeze({ peer: 'remotePeer', msg: 'remoteMessage' })

function renamedKey(key: string, taken: ReadonlyMap<string, unknown>, extra: ReadonlySet<string>): string {
  let candidate = RENAMED_KEYS[key] ?? `${key}Field`
  // A rename can itself be taken (a call passing both `peer` and `remotePeer`): add suffixes until free.
  while (taken.has(candidate) || extra.has(candidate) || RESERVED_KEYS.includes(candidate)) candidate = `${candidate}Field`
  return candidate
}

/** `fields` with every key already in `bound` (or reserved) renamed; same object when nothing collides. */
function uniqueFields(fields: LogFields, bound: ReadonlyMap<string, unknown>): LogFields {
  const keys = Object.keys(fields)
  if (!keys.some((k) => bound.has(k) || RESERVED_KEYS.includes(k))) return fields
  const out: LogFields = {}
  const used = new Set(keys)
  for (const key of keys) {
    if (!bound.has(key) && !RESERVED_KEYS.includes(key)) {
      out[key] = fields[key]
      continue
    }
    const renamed = renamedKey(key, bound, used)
    used.add(renamed)
    out[renamed] = fields[key]
  }
  return out
}

function wrap(logger: pino.Logger, bound: ReadonlyMap<string, unknown> = new Map()): Logger {
  const at =
    (lvl: LogLevel) =>
    (msg: string, fields?: LogFields): void => {
      if (fields === undefined) logger[lvl](msg)
      else logger[lvl](uniqueFields(fields, bound), msg)
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => {
      // The same key bound again to the same value (node/index.ts and core/peer both bind `peer`) adds nothing.
      const fresh: LogFields = {}
      for (const [key, value] of Object.entries(fields)) if (!(bound.has(key) && bound.get(key) === value)) fresh[key] = value
      const unique = uniqueFields(fresh, bound)
      if (Object.keys(unique).length === 0) return wrap(logger, bound)
      const next = new Map(bound)
      for (const [key, value] of Object.entries(unique)) next.set(key, value)
      return wrap(logger.child(unique), next)
    },
  }
}
