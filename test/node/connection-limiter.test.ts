import { ConfigError } from '../../src/core/errors.js'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
  DEFAULT_MAX_PENDING_CONNECTIONS,
  DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
  createConnectionLimiter,
} from '../../src/node/connection-limiter.js'
import { ManualClock } from '../../src/core/util/clock.js'

function admitMany(limiter: ReturnType<typeof createConnectionLimiter>, address: string, n: number): (number | 'ok')[] {
  return Array.from({ length: n }, () => {
    const a = limiter.admit(address)
    return a.ok ? 'ok' : a.status
  })
}

describe('createConnectionLimiter', () => {
  it('defaults to 64 pending, 8 pending per address and 20 per second per address', () => {
    expect(DEFAULT_MAX_PENDING_CONNECTIONS).toBe(64)
    expect(DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS).toBe(8)
    expect(DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS).toBe(20)
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxPendingConnections: 1000, maxPendingConnectionsPerAddress: 1000 })
    expect(admitMany(limiter, 'a', 21)).toEqual([...Array(20).fill('ok'), 429])
    const defaults = createConnectionLimiter({ now: () => clock.now() })
    expect(admitMany(defaults, 'a', 10)).toEqual([...Array(8).fill('ok'), 503, 503])
  })

  it('admits a burst of one second, refuses the rest with 429, and refills at the rate', () => {
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxConnectionsPerSecond: 5, maxPendingConnections: 1000, maxPendingConnectionsPerAddress: 1000 })
    expect(admitMany(limiter, '10.0.0.1', 7)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 429, 429])
    clock.advance(199)
    expect(admitMany(limiter, '10.0.0.1', 1)).toEqual([429])
    clock.advance(1)
    expect(admitMany(limiter, '10.0.0.1', 2)).toEqual(['ok', 429])
    clock.advance(10_000)
    // The bucket holds at most one second's worth, however long the address was idle.
    expect(admitMany(limiter, '10.0.0.1', 6)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 429])
    expect(limiter.stats().refusedRate).toBe(5)
  })

  it('keeps one bucket per address', () => {
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxConnectionsPerSecond: 2, maxPendingConnections: 1000, maxPendingConnectionsPerAddress: 1000 })
    expect(admitMany(limiter, 'a', 3)).toEqual(['ok', 'ok', 429])
    expect(admitMany(limiter, 'b', 3)).toEqual(['ok', 'ok', 429])
  })

  it('frees a slot when a ticket is established or released, each once', () => {
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxPendingConnections: 2, maxConnectionsPerSecond: 100 })
    const first = limiter.admit('a')
    const second = limiter.admit('a')
    if (!first.ok || !second.ok) throw new Error('expected admissions')
    expect(limiter.admit('a')).toMatchObject({ ok: false, status: 503 })
    first.ticket.established()
    first.ticket.release() // the socket closing later must not free a second slot
    expect(limiter.stats().pending).toBe(1)
    expect(limiter.admit('a').ok).toBe(true)
    expect(limiter.admit('a')).toMatchObject({ ok: false, status: 503 })
    second.ticket.release()
    second.ticket.release()
    expect(limiter.stats()).toMatchObject({ pending: 1, refusedPending: 2, pendingAddresses: 1 })
  })

  it('caps the pending slots of one address, leaving the rest to other addresses', () => {
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxPendingConnections: 10, maxPendingConnectionsPerAddress: 3, maxConnectionsPerSecond: 100 })
    expect(admitMany(limiter, 'attacker', 50)).toEqual([...Array(3).fill('ok'), ...Array(47).fill(503)])
    expect(admitMany(limiter, 'honest', 3)).toEqual(['ok', 'ok', 'ok'])
    expect(limiter.stats()).toMatchObject({ pending: 6, evicted: 0 })
  })

  it('when every slot is taken, a newcomer from a less busy address takes the oldest slot of the busiest one', () => {
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxPendingConnections: 4, maxPendingConnectionsPerAddress: 2, maxConnectionsPerSecond: 100 })
    const evictedIds: string[] = []
    const admit = (address: string, id: string) => limiter.admit(address, () => evictedIds.push(id))
    expect([admit('x', 'x1'), admit('x', 'x2'), admit('y', 'y1'), admit('z', 'z1')].every((a) => a.ok)).toBe(true)
    // Full. 'm' holds nothing: x (2) is the busiest, its oldest goes.
    const member = admit('m', 'm1')
    expect(member.ok).toBe(true)
    expect(evictedIds).toEqual(['x1'])
    // Now x, y, z, m hold one each: y (or any) holding as many as z does not evict for z.
    expect(admit('z', 'z2')).toMatchObject({ ok: false, status: 503 })
    // A fresh address still gets in, evicting the oldest of the busiest (all hold 1: the first in order).
    expect(admit('n', 'n1').ok).toBe(true)
    expect(evictedIds).toEqual(['x1', 'x2'])
    expect(limiter.stats()).toMatchObject({ pending: 4, evicted: 2, refusedPending: 1 })
    // An evicted ticket is already settled: its socket closing later frees nothing more.
    if (!member.ok) throw new Error('expected admission')
    member.ticket.release()
    expect(limiter.stats().pending).toBe(3)
  })

  it('forgets idle addresses when it tracks too many', () => {
    const clock = new ManualClock()
    const limiter = createConnectionLimiter({ now: () => clock.now(), maxConnectionsPerSecond: 1, maxPendingConnections: 1000, maxTrackedAddresses: 10 })
    for (let i = 0; i < 10; i++) limiter.admit(`idle-${i}`)
    clock.advance(1000)
    limiter.admit('busy')
    expect(limiter.stats().trackedAddresses).toBeLessThanOrEqual(10)
    // A busy address keeps its empty bucket while idle ones are dropped.
    expect(limiter.admit('busy')).toMatchObject({ ok: false, status: 429 })
  })

  it('refuses limits that are not positive integers', () => {
    expect(() => createConnectionLimiter({ maxPendingConnections: 0 })).toThrow(ConfigError)
    expect(() => createConnectionLimiter({ maxConnectionsPerSecond: 1.5 })).toThrow(ConfigError)
    expect(() => createConnectionLimiter({ maxPendingConnectionsPerAddress: -1 })).toThrow(ConfigError)
  })
})
