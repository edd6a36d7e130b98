import { describe, expect, it } from 'vitest'
import { CloseToken } from '../../../src/core/chat/close-reason.js'
import { CloseCode } from '../../../src/core/errors.js'
import type { LinkState } from '../../../src/core/handlers/link.js'
import { Keepalive, sweepPeriod, type KeepaliveLink } from '../../../src/core/peer/keepalive.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload } from '../../../src/core/wire/payloads.js'
import { recordingLogger, type LogRecord } from '../../support/fake-network.js'

class FakeLink implements KeepaliveLink {
  readonly stream = { closed: false }
  state: LinkState = 'established'
  lastReceivedAt = 0
  lastSentAt = 0
  closedWith: { code: number; reason: string } | undefined
  constructor(readonly label: string) {}
  close(code: number, reason: string): void {
    this.closedWith = { code, reason }
    this.stream.closed = true
  }
}

const limits = { keepaliveIntervalMs: 100, keepaliveTimeoutMs: 300, handshakeTimeoutMs: 1000 }

function keepaliveOver(links: FakeLink[]) {
  const clock = new ManualClock()
  const logs: LogRecord[] = []
  const pings: { link: string; nonce: number }[] = []
  const state = { running: true, sweeps: 0 }
  const keepalive = new Keepalive<FakeLink>({
    limits,
    clock,
    log: recordingLogger(logs),
    links: () => links,
    send: (link: FakeLink, envelope: Envelope) => {
      expect(envelope.type).toBe(MessageType.KEEPALIVE_PING)
      pings.push({ link: link.label, nonce: decodePayload(MessageType.KEEPALIVE_PING, envelope.payload).nonce })
      link.lastSentAt = clock.now()
      return true
    },
    running: () => state.running,
    afterSweep: () => state.sweeps++,
  })
  return { clock, logs, pings, state, keepalive }
}

describe('keepalive', () => {
  it('sweeps every half of the shorter of keepalive interval and handshake timeout, within 10 ms..1 s', () => {
    expect(sweepPeriod(limits)).toBe(50)
    expect(sweepPeriod({ keepaliveIntervalMs: 5000, keepaliveTimeoutMs: 15_000, handshakeTimeoutMs: 10_000 })).toBe(1000)
    expect(sweepPeriod({ keepaliveIntervalMs: 4000, keepaliveTimeoutMs: 15_000, handshakeTimeoutMs: 600 })).toBe(300)
    expect(sweepPeriod({ keepaliveIntervalMs: 5, keepaliveTimeoutMs: 15, handshakeTimeoutMs: 5 })).toBe(10)
  })

  it('pings an idle established link once per interval, and leaves links in their handshake or closed alone', () => {
    const idle = new FakeLink('idle')
    const handshaking = new FakeLink('handshaking')
    handshaking.state = 'created'
    const closed = new FakeLink('closed')
    closed.stream.closed = true
    const { clock, pings, state, keepalive } = keepaliveOver([idle, handshaking, closed])
    keepalive.start()
    clock.advance(50)
    expect(pings).toEqual([])
    expect(state.sweeps).toBe(1)
    clock.advance(50)
    expect(pings).toEqual([{ link: 'idle', nonce: 1 }])
    idle.lastReceivedAt = clock.now()
    clock.advance(100)
    expect(pings).toEqual([
      { link: 'idle', nonce: 1 },
      { link: 'idle', nonce: 2 },
    ])
    expect(state.sweeps).toBe(4)
    expect(handshaking.closedWith).toBeUndefined()
  })

  it('closes a link that received nothing for keepaliveTimeoutMs with 4003, and says so', () => {
    const silent = new FakeLink('vp1')
    const { clock, logs, keepalive } = keepaliveOver([silent])
    keepalive.start()
    clock.advance(250)
    expect(silent.closedWith).toBeUndefined()
    clock.advance(50)
    expect(silent.closedWith?.code).toBe(CloseCode.KEEPALIVE_TIMEOUT)
    expect(silent.closedWith?.reason).toBe(`${CloseToken.KEEPALIVE_TIMEOUT}: nothing received for 300 ms`)
    expect(logs.filter((r) => r.msg === 'closing silent link').map((r) => r.fields)).toEqual([{ remotePeer: 'vp1', silentMs: 300 }])
  })

  it('stops sweeping at stop, and once the peer no longer runs', () => {
    const first = keepaliveOver([new FakeLink('a')])
    first.keepalive.start()
    first.clock.advance(50)
    first.keepalive.stop()
    expect(first.clock.pending).toBe(0)
    first.clock.advance(1000)
    expect(first.state.sweeps).toBe(1)

    const second = keepaliveOver([new FakeLink('a')])
    second.keepalive.start()
    second.state.running = false
    second.clock.advance(1000)
    expect(second.state.sweeps).toBe(0)
    expect(second.clock.pending).toBe(0)
  })
})
