import { describe, expect, it } from 'vitest'
import { AbortError, QueueClosedError, QueueFullError } from '../../../src/core/errors.js'
import { BoundedQueue, type QueuedMessage } from '../../../src/core/engine/bounded-queue.js'
import { MessageFan } from '../../../src/core/engine/message-fan.js'
import { seededRandom } from '../../support/seeded-random.js'
import { testSeed } from '../../support/test-seed.js'

function queue(name: string, maxMessages = 1000): BoundedQueue {
  return new BoundedQueue({ name, maxMessages, maxBytes: 1 << 30 })
}

function message(sender: string, seq: number): QueuedMessage {
  return { envelope: { type: 7, payload: new Uint8Array(1), timestamp: seq }, sender, bytes: 1 }
}

function sized(sender: string, seq: number, bytes: number): QueuedMessage {
  return { envelope: { type: 7, payload: new Uint8Array(1), timestamp: seq }, sender, bytes }
}

function label(msg: QueuedMessage | undefined): string {
  return msg === undefined ? 'none' : `${msg.sender}${msg.envelope.timestamp}`
}

describe('MessageFan', () => {
  it('serves ready queues round-robin: a small queue is not starved by a flooding one', () => {
    const fan = new MessageFan()
    const a = queue('A')
    const b = queue('B')
    fan.add(a)
    fan.add(b)
    for (let i = 0; i < 1000; i++) a.push(message('A', i))
    for (let i = 0; i < 10; i++) b.push(message('B', i))
    const first20: QueuedMessage[] = []
    for (let i = 0; i < 20; i++) first20.push(fan.poll()!)
    expect(first20.filter((m) => m.sender === 'B').map((m) => m.envelope.timestamp)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ])
    let rest = 0
    while (fan.poll() !== undefined) rest++
    expect(rest).toBe(990)
  })

  it('takes one message from each ready queue in turn', () => {
    const fan = new MessageFan()
    const qs = ['A', 'B', 'C'].map((n) => queue(n))
    for (const q of qs) fan.add(q)
    for (const q of qs) for (let i = 0; i < 2; i++) q.push(message(q.name, i))
    const order: string[] = []
    for (let m = fan.poll(); m !== undefined; m = fan.poll()) order.push(label(m))
    expect(order).toEqual(['A0', 'B0', 'C0', 'A1', 'B1', 'C1'])
  })

  it('weighs turns by bytes: a queue of 64 KiB messages is served once per eight turns of a small one', () => {
    const fan = new MessageFan({ quantumBytes: 8 * 1024 })
    const big = queue('big')
    const small = queue('small')
    fan.add(big)
    fan.add(small)
    for (let i = 0; i < 10; i++) big.push(sized('big', i, 64 * 1024))
    for (let i = 0; i < 100; i++) small.push(sized('small', i, 200))
    const first45: string[] = []
    for (let i = 0; i < 45; i++) first45.push(fan.poll()!.sender)
    // Each turn gives 8 KiB: the big queue's head is covered on its 8th turn, then every 8th.
    expect(first45.filter((s) => s === 'big')).toHaveLength(5)
    expect(first45.indexOf('big')).toBe(7)
    // Nothing is lost, and each queue keeps its own order.
    const rest: QueuedMessage[] = []
    for (let m = fan.poll(); m !== undefined; m = fan.poll()) rest.push(m)
    expect(first45.length + rest.length).toBe(110)
    const bigOrder = rest.filter((m) => m.sender === 'big').map((m) => m.envelope.timestamp)
    expect(bigOrder).toEqual([5, 6, 7, 8, 9])
  })

  it('serves a lone queue of large messages at once, and one of equal messages in plain turns', () => {
    const fan = new MessageFan({ quantumBytes: 1024 })
    const a = queue('A')
    fan.add(a)
    // 1 MiB needs 1024 turns of credit; with nobody else ready it is served on the first poll.
    a.push(sized('A', 0, 1024 * 1024))
    expect(label(fan.poll())).toBe('A0')
    expect(fan.poll()).toBeUndefined()
    // Two queues of equal large messages alternate, whatever the quantum.
    const b = queue('B')
    fan.add(b)
    for (let i = 1; i <= 3; i++) {
      a.push(sized('A', i, 5000))
      b.push(sized('B', i, 5000))
    }
    const order: string[] = []
    for (let m = fan.poll(); m !== undefined; m = fan.poll()) order.push(label(m))
    expect(order).toEqual(['A1', 'B1', 'A2', 'B2', 'A3', 'B3'])
  })

  it('forgets the credit of a queue that ran dry, so idle time buys no head start later', () => {
    const fan = new MessageFan({ quantumBytes: 1000 })
    const a = queue('A')
    const b = queue('B')
    fan.add(a)
    fan.add(b)
    a.push(sized('A', 0, 10))
    expect(label(fan.poll())).toBe('A0')
    // A ran dry holding 990 bytes of credit. B becomes ready first; had A kept its credit, its
    // first turn would cover a 1990-byte message and A1 would jump ahead of B1.
    b.push(sized('B', 1, 1990))
    a.push(sized('A', 1, 1990))
    expect([label(fan.poll()), label(fan.poll())]).toEqual(['B1', 'A1'])
  })

  it('refuses a quantum that is not a positive integer', () => {
    expect(() => new MessageFan({ quantumBytes: 0 })).toThrow(RangeError)
    expect(() => new MessageFan({ quantumBytes: 1.5 })).toThrow(RangeError)
  })

  it('serves messages a queue held before it was added', async () => {
    const fan = new MessageFan()
    const a = queue('A')
    a.push(message('A', 0))
    fan.add(a)
    expect(label(await fan.next())).toBe('A0')
  })

  it('next() waits for a push, and several waiters are served oldest first', async () => {
    const fan = new MessageFan()
    const a = queue('A')
    fan.add(a)
    const first = fan.next()
    const second = fan.next()
    a.push(message('A', 0))
    a.push(message('A', 1))
    expect(label(await first)).toBe('A0')
    expect(label(await second)).toBe('A1')
  })

  it('next() with an already aborted signal rejects with AbortError and takes nothing', async () => {
    const fan = new MessageFan()
    const a = queue('A')
    fan.add(a)
    a.push(message('A', 0))
    await expect(fan.next({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    expect(a.length).toBe(1)
  })

  it('next() aborted while waiting rejects, and the next message goes to a later call', async () => {
    const fan = new MessageFan()
    const a = queue('A')
    fan.add(a)
    const controller = new AbortController()
    const pending = fan.next({ signal: controller.signal })
    controller.abort()
    await expect(pending).rejects.toBeInstanceOf(AbortError)
    a.push(message('A', 0))
    expect(label(await fan.next({ signal: controller.signal }).catch(() => undefined))).toBe('none')
    expect(label(await fan.next())).toBe('A0')
  })

  it('close() resolves pending and later next() calls with undefined and refuses add()', async () => {
    const fan = new MessageFan()
    const a = queue('A')
    fan.add(a)
    const pending = fan.next()
    fan.close()
    await expect(pending).resolves.toBeUndefined()
    a.push(message('A', 0))
    await expect(fan.next()).resolves.toBeUndefined()
    expect(fan.size).toBe(0)
    expect(a.onReadable).toBeUndefined()
    expect(() => fan.add(queue('B'))).toThrow(QueueClosedError)
  })

  it('a closed queue leaves the fan after its last message, and an empty one at once', () => {
    const fan = new MessageFan()
    const a = queue('A')
    const b = queue('B')
    fan.add(a)
    fan.add(b)
    a.push(message('A', 0))
    a.push(message('A', 1))
    a.close()
    expect(fan.size).toBe(2)
    expect(label(fan.poll())).toBe('A0')
    expect(fan.size).toBe(2)
    expect(label(fan.poll())).toBe('A1')
    expect(fan.size).toBe(1)
    expect(fan.queues).toEqual([b])
    expect(a.onReadable).toBeUndefined()
    b.close()
    expect(fan.size).toBe(0)
    expect(fan.poll()).toBeUndefined()
  })

  it('does not keep a queue that is added already closed and empty', () => {
    const fan = new MessageFan()
    const a = queue('A')
    a.close()
    fan.add(a)
    expect(fan.size).toBe(0)
    const b = queue('B')
    b.push(message('B', 0))
    b.close()
    fan.add(b)
    expect(fan.size).toBe(1)
    expect(label(fan.poll())).toBe('B0')
    expect(fan.size).toBe(0)
  })

  it('loses nothing under random pushes, closes and reads across queues (seeded)', async () => {
    const base = testSeed('message-fan no-loss (20 rounds from this seed)')
    for (let round = 0; round < 20; round++) {
      const seed = base + round
      try {
        await randomRound(seed)
      } catch (err) {
        console.log(`message-fan no-loss failing seed=${seed}`)
        throw err
      }
    }
    console.log(`message-fan no-loss seeds=${base}..${base + 19}`)
  })
})

async function randomRound(seed: number): Promise<void> {
  const rand = seededRandom(seed)
  const fan = new MessageFan()
  const queues: BoundedQueue[] = []
  const accepted = new Map<string, number[]>()
  const received = new Map<string, number[]>()
  let nextSeq = 0
  const openQueue = () => {
    const q = queue(`q${queues.length}-`, 1 + Math.floor(rand() * 20))
    accepted.set(q.name, [])
    received.set(q.name, [])
    queues.push(q)
    fan.add(q)
  }
  const record = (msg: QueuedMessage | undefined) => {
    if (msg === undefined) return
    received.get(msg.sender)!.push(msg.envelope.timestamp!)
  }
  for (let i = 0; i < 3; i++) openQueue()
  const waiting: Promise<void>[] = []
  for (let step = 0; step < 3000; step++) {
    const r = rand()
    const q = queues[Math.floor(rand() * queues.length)]!
    if (r < 0.55) {
      const seq = nextSeq++
      try {
        q.push(message(q.name, seq))
        accepted.get(q.name)!.push(seq)
      } catch (err) {
        if (!(err instanceof QueueFullError || err instanceof QueueClosedError)) throw err
        // A refused push must be refused for a real reason.
        if (err instanceof QueueClosedError) expect(q.closed).toBe(true)
        else expect(q.length).toBe(q.maxMessages)
      }
    } else if (r < 0.8) {
      // next() hands its message over synchronously but records it one microtask later; let that
      // record run first so `received` is in the order the fan gave messages out.
      await Promise.resolve()
      record(fan.poll())
    } else if (r < 0.9) {
      waiting.push(fan.next().then(record))
    } else if (r < 0.95) {
      q.close()
    } else if (queues.length < 12) {
      openQueue()
    }
    // Let resolved next() callbacks run at random points, interleaving them with pushes.
    if (rand() < 0.3) await Promise.resolve()
  }
  for (const q of queues) q.close()
  await Promise.resolve()
  for (let msg = fan.poll(); msg !== undefined; msg = fan.poll()) record(msg)
  // Every queue is closed and drained, so every queue has left.
  expect(fan.size).toBe(0)
  fan.close()
  await Promise.all(waiting)
  for (const q of queues) {
    expect(received.get(q.name)).toEqual(accepted.get(q.name))
    expect(q.length).toBe(0)
  }
}
