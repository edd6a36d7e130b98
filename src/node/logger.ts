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
  return wrap(options.bindings === undefined ? root : root.child(options.bindings))
}

function wrap(logger: pino.Logger): Logger {
  const at =
    (lvl: LogLevel) =>
    (msg: string, fields?: LogFields): void => {
      if (fields === undefined) logger[lvl](msg)
      else logger[lvl](fields, msg)
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => wrap(logger.child(fields)),
  }
}
