import { describe, expect, it } from 'vitest'
import { QueueClosedError, QueueFullError } from '../../../src/core/errors.js'
import { BoundedQueue, type QueuedMessage, envelopeBytes } from '../../../src/core/engine/bounded-queue.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

function message(sender: string, bytes: number, seq = 0): QueuedMessage {
  return { envelope: { type: 7, payload: new Uint8Array(bytes), timestamp: seq }, sender, bytes }
}

function seqOf(msg: QueuedMessage | undefined): number | undefined {
  return msg?.envelope.timestamp
}

describe('BoundedQueue', () => {
  it('accepts exactly maxMessages, then refuses with the Fabric message and counts rejects', () => {
    const queue = new BoundedQueue({ name: 'peer-a', maxMessages: 5, maxBytes: 1 << 20 })
    for (let i = 0; i < 5; i++) queue.push(message('peer-a', 1, i))
    expect(queue.length).toBe(5)
    for (let i = 0; i < 3; i++) {
      let caught: unknown
      try {
        queue.push(message('peer-a', 1))
      } catch (err) {
        caught = err
      }
      expect(caught).toBeInstanceOf(QueueFullError)
      expect((caught as QueueFullError).message).toBe('Message channel for peer-a full, rejecting')
      expect((caught as QueueFullError).code).toBe('ERR_QUEUE_FULL')
    }
    expect(queue.rejects).toBe(3)
    expect(queue.length).toBe(5)
    // A slot freed by shift is usable again.
    expect(seqOf(queue.shift())).toBe(0)
    queue.push(message('peer-a', 1, 5))
    expect(queue.length).toBe(5)
    expect(queue.rejects).toBe(3)
  })

  it('accepts exactly maxBytes, then refuses', () => {
    const queue = new BoundedQueue({ name: 'peer-b', maxMessages: 1000, maxBytes: 100 })
    queue.push(message('peer-b', 30))
    queue.push(message('peer-b', 30))
    queue.push(message('peer-b', 30))
    expect(() => queue.push(message('peer-b', 11))).toThrow('Message channel for peer-b full, rejecting')
    queue.push(message('peer-b', 10))
    expect(queue.bytes).toBe(100)
    expect(() => queue.push(message('peer-b', 1))).toThrow(QueueFullError)
    expect(queue.rejects).toBe(2)
    expect(queue.length).toBe(4)
    queue.shift()
    expect(queue.bytes).toBe(70)
    queue.push(message('peer-b', 30))
    expect(queue.bytes).toBe(100)
  })

  it('refuses a single message larger than maxBytes even when empty', () => {
    const queue = new BoundedQueue({ name: 'peer-c', maxMessages: 10, maxBytes: 64 })
    expect(() => queue.push(message('peer-c', 65))).toThrow(QueueFullError)
    expect(queue.length).toBe(0)
    expect(queue.rejects).toBe(1)
  })

  it('keeps FIFO order across ring growth and wraparound (seeded model check)', () => {
    const seed = testSeed('bounded-queue FIFO')
    const rand = seededRandom(seed)
    const queue = new BoundedQueue({ name: 'p', maxMessages: 300, maxBytes: 1 << 30 })
    const model: number[] = []
    let next = 0
    for (let step = 0; step < 20_000; step++) {
      if (rand() < 0.55) {
        if (model.length < 300) {
          queue.push(message('p', 1, next))
          model.push(next++)
        } else {
          expect(() => queue.push(message('p', 1))).toThrow(QueueFullError)
        }
      } else {
        expect(seqOf(queue.shift())).toBe(model.shift())
      }
      expect(queue.length).toBe(model.length)
      expect(queue.bytes).toBe(model.length)
    }
  })

  it('after close refuses pushes with QueueClosedError but still drains', () => {
    const queue = new BoundedQueue({ name: 'peer-d', maxMessages: 10, maxBytes: 1000 })
    queue.push(message('peer-d', 1, 1))
    queue.push(message('peer-d', 1, 2))
    queue.close()
    expect(queue.closed).toBe(true)
    expect(() => queue.push(message('peer-d', 1))).toThrow(QueueClosedError)
    expect(queue.rejects).toBe(0)
    expect(seqOf(queue.shift())).toBe(1)
    expect(seqOf(queue.shift())).toBe(2)
    expect(queue.shift()).toBeUndefined()
    expect(queue.bytes).toBe(0)
  })

  it('calls onReadable on empty to non-empty only, and once on close', () => {
    const queue = new BoundedQueue({ name: 'peer-e', maxMessages: 2, maxBytes: 1000 })
    let calls = 0
    queue.onReadable = () => {
      calls++
    }
    queue.push(message('peer-e', 1))
    expect(calls).toBe(1)
    queue.push(message('peer-e', 1))
    expect(() => queue.push(message('peer-e', 1))).toThrow(QueueFullError)
    expect(calls).toBe(1)
    queue.shift()
    queue.shift()
    queue.push(message('peer-e', 1))
    expect(calls).toBe(2)
    queue.close()
    queue.close()
    expect(calls).toBe(3)
  })

  it('refuses bounds that are not positive integers', () => {
    expect(() => new BoundedQueue({ name: 'x', maxMessages: 0, maxBytes: 10 })).toThrow(RangeError)
    expect(() => new BoundedQueue({ name: 'x', maxMessages: 1.5, maxBytes: 10 })).toThrow(RangeError)
    expect(() => new BoundedQueue({ name: 'x', maxMessages: 1, maxBytes: Number.NaN })).toThrow(RangeError)
  })

  it('counts payload plus signature bytes', () => {
    expect(envelopeBytes({ type: 7, payload: new Uint8Array(12) })).toBe(12)
    expect(envelopeBytes({ type: 7, payload: new Uint8Array(12), signature: new Uint8Array(64) })).toBe(76)
  })
})

describe('BoundedQueue.onDrained', () => {
  const item = (bytes: number): QueuedMessage => ({ envelope: { type: 21, payload: new Uint8Array(bytes) }, sender: 'p', bytes })

  it('fires once, when a queue that refused a push has drained to half of both bounds', () => {
    const queue = new BoundedQueue({ name: 'p', maxMessages: 10, maxBytes: 1000 })
    let drained = 0
    queue.onDrained = () => drained++
    for (let i = 0; i < 10; i++) queue.push(item(10))
    expect(() => queue.push(item(10))).toThrow(QueueFullError)
    for (let i = 0; i < 4; i++) queue.shift()
    expect(drained).toBe(0)
    queue.shift()
    expect(queue.length).toBe(5)
    expect(drained).toBe(1)
    while (queue.shift() !== undefined) void 0
    expect(drained).toBe(1)
  })

  it('waits for the byte bound too, and never fires for a queue that refused nothing', () => {
    const quiet = new BoundedQueue({ name: 'q', maxMessages: 4, maxBytes: 1000 })
    let quietDrained = 0
    quiet.onDrained = () => quietDrained++
    for (let i = 0; i < 4; i++) quiet.push(item(1))
    while (quiet.shift() !== undefined) void 0
    expect(quietDrained).toBe(0)

    const heavy = new BoundedQueue({ name: 'h', maxMessages: 100, maxBytes: 1000 })
    let drained = 0
    heavy.onDrained = () => drained++
    heavy.push(item(900))
    heavy.push(item(50))
    expect(() => heavy.push(item(100))).toThrow(QueueFullError)
    heavy.shift()
    expect(drained).toBe(1)
  })
})
