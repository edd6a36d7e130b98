/**
 * The logging seam. The core only calls this interface; Node plugs in structured JSON lines
 * (src/node/logger.ts), the browser the console. Fields are structured data, never pre-formatted
 * into the message, so logs stay machine-readable.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  child(fields: LogFields): Logger
}

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger
  },
}

/** A logger over `console`, for browsers and quick scripts. */
export function createConsoleLogger(level: LogLevel = 'info', bound: LogFields = {}): Logger {
  const min = LOG_LEVELS.indexOf(level)
  const at = (lvl: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return
    console[lvl === 'debug' ? 'log' : lvl](`[wspeer] ${msg}`, { ...bound, ...fields })
  }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => createConsoleLogger(level, { ...bound, ...fields }),
  }
}
