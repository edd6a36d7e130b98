import { describe, expect, it } from 'vitest'
import type { Stack } from '../../../../src/core/consensus/consenter.js'
import { decodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/messages.js'
import { PbftOutbound } from '../../../../src/core/consensus/pbft/outbound.js'
import { ManualClock } from '../../../../src/core/util/clock.js'
import { silentLogger } from '../../../../src/core/util/logger.js'
import type { Envelope } from '../../../../src/core/wire/envelope.js'
import { MessageType } from '../../../../src/core/wire/message-type.js'

/** The part of a Stack the outbound uses, recording what it sends. */
function recordingStack(): { stack: Stack; sent: { to: string; msg: PbftMessage }[] } {
  const sent: { to: string; msg: PbftMessage }[] = []
  const record = (to: string, envelope: Envelope): void => {
    expect(envelope.type).toBe(MessageType.CONSENSUS)
    sent.push({ to, msg: decodePbftMessage(envelope.payload) })
  }
  const stack = {
    clock: new ManualClock(),
    broadcast: (envelope: Envelope, target: string) => {
      record(`all ${target}s`, envelope)
      return 3
    },
    unicast: (envelope: Envelope, peerId: string) => {
      if (peerId === 'vp9') throw new Error('no link')
      record(peerId, envelope)
    },
  }
  return { stack: stack as unknown as Stack, sent }
}

const prepare = (n: number): PbftMessage => ({ t: 'p', v: 0, n, d: 'ab'.repeat(32), r: 1 })

describe('pbft outbound', () => {
  it('sends a broadcast outside an input at once, as itself', () => {
    const { stack, sent } = recordingStack()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger)
    out.broadcast(prepare(1))
    expect(sent).toEqual([{ to: 'all validators', msg: prepare(1) }])
  })

  it('holds what an input broadcasts, nested inputs included, and sends it as one bundle when the outermost ends', () => {
    const { stack, sent } = recordingStack()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger)
    out.input(() => {
      out.broadcast(prepare(1))
      out.enter()
      try {
        out.broadcast(prepare(2))
      } finally {
        out.leave()
      }
      expect(sent).toEqual([])
      out.broadcast(prepare(3))
    })
    expect(sent).toEqual([{ to: 'all validators', msg: { t: 'm', m: [prepare(1), prepare(2), prepare(3)] } }])
  })

  it('sends what waits before a unicast, so a link keeps the order, and reports a unicast with no link', () => {
    const { stack, sent } = recordingStack()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger)
    out.enter()
    out.broadcast(prepare(1))
    expect(out.unicast(prepare(2), 1)).toBe(true)
    out.leave()
    expect(sent).toEqual([{ to: 'all validators', msg: prepare(1) }, { to: 'vp1', msg: prepare(2) }])
    const unlinked = new PbftOutbound(stack, ['vp9'], silentLogger)
    expect(unlinked.unicast(prepare(3), 0)).toBe(false)
  })

  it('sends nothing once stopped', () => {
    const { stack, sent } = recordingStack()
    const out = new PbftOutbound(stack, ['vp0'], silentLogger)
    out.enter()
    out.broadcast(prepare(1))
    out.stop()
    out.leave()
    out.broadcast(prepare(2))
    expect(sent).toEqual([])
  })
})
