import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/core/errors.js'
import { configFlags, resolveConfig } from '../../src/node/config.js'
import {
  DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
} from '../../src/node/connection-limiter.js'

describe('connection admission settings', () => {
  it('default to the limiter constants', () => {
    const config = resolveConfig({ env: {} })
    expect(config.maxPendingConnections).toBe(DEFAULT_MAX_PENDING_CONNECTIONS)
    expect(config.maxConnectionsPerSecond).toBe(DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS)
    expect(config.maxPendingConnectionsPerAddress).toBe(DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS)
  })

  it('are node-level flags, WSPEER_* variables and top-level file keys, flags winning', () => {
    const flags = configFlags()
    expect(flags).toContainEqual({ flag: '--max-pending-connections', env: 'WSPEER_MAX_PENDING_CONNECTIONS', key: 'maxPendingConnections' })
    expect(flags).toContainEqual({ flag: '--max-connections-per-second', env: 'WSPEER_MAX_CONNECTIONS_PER_SECOND', key: 'maxConnectionsPerSecond' })
    expect(flags).toContainEqual({ flag: '--max-pending-connections-per-address', env: 'WSPEER_MAX_PENDING_CONNECTIONS_PER_ADDRESS', key: 'maxPendingConnectionsPerAddress' })
    expect(resolveConfig({ argv: ['--max-pending-connections-per-address', '3'], env: {} }).maxPendingConnectionsPerAddress).toBe(3)
    const file = JSON.stringify({ maxPendingConnections: 5, maxConnectionsPerSecond: 6 })
    expect(resolveConfig({ argv: ['--config', 'c.json'], env: {}, readFile: () => file })).toMatchObject({ maxPendingConnections: 5, maxConnectionsPerSecond: 6 })
    const env = { WSPEER_MAX_PENDING_CONNECTIONS: '7', WSPEER_MAX_CONNECTIONS_PER_SECOND: '8' }
    expect(resolveConfig({ argv: ['--config', 'c.json'], env, readFile: () => file })).toMatchObject({ maxPendingConnections: 7, maxConnectionsPerSecond: 8 })
    const argv = ['--config', 'c.json', '--max-pending-connections', '9', '--max-connections-per-second', '10']
    expect(resolveConfig({ argv, env, readFile: () => file })).toMatchObject({ maxPendingConnections: 9, maxConnectionsPerSecond: 10 })
  })

  it('refuse values that are not positive integers, naming the source', () => {
    expect(() => resolveConfig({ argv: ['--max-pending-connections', '0'], env: {} })).toThrow(/flag --max-pending-connections/)
    expect(() => resolveConfig({ env: { WSPEER_MAX_CONNECTIONS_PER_SECOND: 'fast' } })).toThrow(ConfigError)
    expect(() => resolveConfig({ argv: ['--config', 'c.json'], env: {}, readFile: () => '{"limits":{"maxPendingConnections":3}}' })).toThrow(/unknown limit/)
  })
})
