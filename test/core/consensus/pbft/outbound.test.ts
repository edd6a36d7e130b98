import { describe, expect, it } from 'vitest'
import type { Stack } from '../../../../src/core/consensus/consenter.js'
import { decodePbftMessage, type PbftMessage } from '../../../../src/core/consensus/pbft/messages.js'
import { PBFT_MAX_HELD_INPUTS, PbftOutbound } from '../../../../src/core/consensus/pbft/outbound.js'
import { createMemoryConsensusLog } from '../../../../src/core/consensus/memory-consensus-log.js'
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
    getNetworkHandles: () => [{ id: 'vp0' }, { id: 'vp1' }],
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

describe('pbft outbound with a consensus log', () => {
  const checkpoint: PbftMessage = { t: 'ck', n: 10, r: 1, d: 'cd'.repeat(32) }
  const request: PbftMessage = { t: 'req', x: [{ txid: 't1', payload: 'p', timestamp: 1, origin: 'vp1' }] }

  /** A log whose flushes run when the test says. */
  function manualLog() {
    const flushes: (() => void)[] = []
    const log = createMemoryConsensusLog({ defer: (flush) => flushes.push(flush) })
    return { log, flush: () => flushes.splice(0).forEach((f) => f()) }
  }

  it('sends an input\'s promises only once they are durable, and logs the bytes it sends', () => {
    const { stack, sent } = recordingStack()
    const { log, flush } = manualLog()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger, log)
    out.input(() => {
      out.broadcast(prepare(1))
      out.record(checkpoint)
    })
    expect(sent).toEqual([])
    expect(log.segments()).toEqual([])
    flush()
    expect(sent).toEqual([{ to: 'all validators', msg: prepare(1) }])
    // What was recorded is logged, not sent.
    expect(log.segments()[0]!.records.map((r) => decodePbftMessage(r))).toEqual([prepare(1), checkpoint])
  })

  it('keeps each link\'s order: what follows waits behind promises being logged, unicasts included', () => {
    const { stack, sent } = recordingStack()
    const { log, flush } = manualLog()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger, log)
    out.broadcast(prepare(1))
    // Not a promise, so not logged: it still waits behind the prepare.
    out.broadcast(request)
    expect(out.unicast(prepare(2), 1)).toBe(true)
    expect(sent).toEqual([])
    flush()
    expect(sent.map((s) => s.msg)).toEqual([prepare(1), request, prepare(2)])
    // A unicast is never logged: a replica unicasts only what it logged when it first sent it
    // (its view change) or what binds it to nothing.
    expect(log.segments()[0]!.records.map((r) => decodePbftMessage(r))).toEqual([prepare(1)])
  })

  it('resends a message it logged before without logging it again, and keeps it in order behind what waits', () => {
    const { stack, sent } = recordingStack()
    const { log, flush } = manualLog()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger, log)
    const viewChange: PbftMessage = { t: 'vc', v: 1, r: 1, h: 0, C: [[0, 'cd'.repeat(32)]], P: [], Q: [] }
    out.broadcast(viewChange)
    out.resend(viewChange)
    flush()
    expect(sent.map((s) => s.msg)).toEqual([viewChange, viewChange])
    out.resend(viewChange)
    expect(sent.map((s) => s.msg)).toEqual([viewChange, viewChange, viewChange])
    expect(log.segments()[0]!.records.map((r) => decodePbftMessage(r))).toEqual([viewChange])
  })

  it('sends what promises nothing at once when nothing waits', () => {
    const { stack, sent } = recordingStack()
    const { log } = manualLog()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger, log)
    out.broadcast(request)
    expect(sent.map((s) => s.msg)).toEqual([request])
    expect(log.segments()).toEqual([])
  })

  it('sends nothing a crash would make it forget: stopped before the flush, nothing leaves', () => {
    const { stack, sent } = recordingStack()
    const { log, flush } = manualLog()
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], silentLogger, log)
    out.broadcast(prepare(1))
    const restarted = log.afterCrash()
    out.stop()
    flush()
    expect(sent).toEqual([])
    expect(restarted.loaded).toEqual([])
  })

  it('goes mute, and says so, when the log confirms nothing for PBFT_MAX_HELD_INPUTS inputs', () => {
    const { stack, sent } = recordingStack()
    const { log, flush } = manualLog()
    const errors: string[] = []
    const out = new PbftOutbound(stack, ['vp0', 'vp1'], { ...silentLogger, error: (msg: string) => void errors.push(msg) }, log)
    for (let i = 0; i <= PBFT_MAX_HELD_INPUTS; i++) out.broadcast(prepare(i + 1))
    expect(errors).toEqual(['pbft consensus log confirms no write; this replica sends nothing more'])
    flush()
    out.broadcast(request)
    expect(sent).toEqual([])
  })
})
