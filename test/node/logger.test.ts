import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import type { LogLevel } from '../../src/core/util/logger.js'
import { createNodeLogger } from '../../src/node/logger.js'

/** The keys of one JSON object line in the order written, duplicates kept (JSON.parse would drop them). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = []
  let depth = 0
  let expectKey = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"') {
      let j = i + 1
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string)
      expectKey = false
      i = j
    } else if (c === '{' || c === '[') {
      depth++
      expectKey = c === '{' && depth === 1
    } else if (c === '}' || c === ']') depth--
    else if (c === ',' && depth === 1) expectKey = true
  }
  return keys
}

function capture(level: LogLevel) {
  const lines: Record<string, unknown>[] = []
  const raw: string[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        raw.push(line)
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
      done()
    },
  })
  return { lines, raw, log: createNodeLogger({ level, destination, bindings: { app: 'test' } }) }
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

  it('writes unique keys: local peer, remote peer, message and remote error each in their own field', () => {
    const { lines, raw, log } = capture('debug')
    // node/index.ts and core/peer both bind the local peer; core call sites name the remote `peer` or `msg` at times.
    const peerLog = log.child({ peer: 'vp0' }).child({ peer: 'vp0' })
    peerLog.warn('peer refused a message', { peer: 'vp1', code: 'ERR_X', msg: 'their text', remotePeer: 'also' })
    peerLog.child({ peer: 'other', level: 'x' }).info('nested', { time: 1 })
    expect(raw).toHaveLength(2)
    for (const line of raw) {
      const keys = topLevelKeys(line)
      expect(new Set(keys).size, line).toBe(keys.length)
    }
    expect(lines[0]).toMatchObject({ peer: 'vp0', remotePeer: 'also', remotePeerField: 'vp1', remoteMessage: 'their text', msg: 'peer refused a message', level: 'warn' })
    expect(lines[1]).toMatchObject({ peer: 'vp0', remotePeer: 'other', levelField: 'x', timeField: 1, msg: 'nested', level: 'info' })
  })

  it('topLevelKeys sees a repeated key that JSON.parse would hide', () => {
    expect(topLevelKeys('{"a":1,"b":{"a":2,"c":[{"d":"x,\\"e"}]},"a":3}')).toEqual(['a', 'b', 'a'])
  })
})
