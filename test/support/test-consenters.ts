import { registerConsenter } from '../../src/core/consensus/registry.js'
import type { Consenter, Stack } from '../../src/core/consensus/consenter.js'
import type { Envelope } from '../../src/core/wire/envelope.js'

/**
 * Consenters for tests: `recording` keeps every message it is given; `gated` blocks in recvMsg
 * until released, to fill queues on purpose. Both are per-instance, found through `instances`.
 */
export interface RecordingConsenter extends Consenter {
  readonly received: { envelope: Envelope; sender: string }[]
  readonly stack: Stack
  /** Resolves when `count` messages have arrived. */
  waitFor(count: number): Promise<void>
  /** For `gated`: lets every blocked and future recvMsg finish. */
  release(): void
  /** Closes the gate again: recvMsg blocks from the next message on. */
  block(): void
  inFlight: number
}

export const instances = new Map<string, RecordingConsenter>()

function make(name: string, stack: Stack, gated: boolean): RecordingConsenter {
  const received: RecordingConsenter['received'] = []
  const waiters: { count: number; resolve: () => void }[] = []
  let open = !gated
  let releaseGate: () => void = () => {}
  let gate = new Promise<void>((resolve) => {
    releaseGate = resolve
  })
  const consenter: RecordingConsenter = {
    name,
    stack,
    received,
    inFlight: 0,
    start() {},
    stop() {
      releaseGate()
    },
    async recvMsg(envelope, sender) {
      received.push({ envelope, sender })
      for (const waiter of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
      if (!open) {
        consenter.inFlight++
        await gate
        consenter.inFlight--
      }
    },
    waitFor(count) {
      if (received.length >= count) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ count, resolve }))
    },
    release() {
      open = true
      releaseGate()
    },
    block() {
      open = false
      gate = new Promise<void>((resolve) => {
        releaseGate = resolve
      })
    },
  }
  instances.set(stack.getNetworkInfo().self.id, consenter)
  return consenter
}

registerConsenter('test-recording', (stack) => make('test-recording', stack, false))
registerConsenter('test-gated', (stack) => make('test-gated', stack, true))
