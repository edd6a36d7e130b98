import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import type { LogLevel } from '../../src/core/util/logger.js'
import { createNodeLogger } from '../../src/node/logger.js'

function capture(level: LogLevel) {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    },
  })
  return { lines, log: createNodeLogger({ level, destination, bindings: { app: 'test' } }) }
}

describe('createNodeLogger', () => {
  it('writes one JSON object per line with level name, ISO time, bindings and fields', () => {
    const { lines, log } = capture('debug')
    log.child({ peer: 'vp0' }).info('listening', { port: 7051 })
    expect(lines).toHaveLength(1)
    const [line] = lines
    expect(line).toMatchObject({ level: 'info', app: 'test', peer: 'vp0', port: 7051, msg: 'listening' })
    expect(new Date(line!['time'] as string).toISOString()).toBe(line!['time'])
  })

  it('drops lines below the level', () => {
    const { lines, log } = capture('warn')
    log.debug('d')
    log.info('i')
    log.warn('w')
    log.error('e')
    expect(lines.map((l) => l['level'])).toEqual(['warn', 'error'])
  })

  it('serializes errors passed as `error`', () => {
    const { lines, log } = capture('info')
    log.error('failed', { error: new RangeError('boom') })
    expect(lines[0]!['error']).toMatchObject({ type: 'RangeError', message: 'boom' })
  })

  it('refuses an unknown level', () => {
    expect(() => createNodeLogger({ level: 'loud' as LogLevel })).toThrow(ConfigError)
  })
})
