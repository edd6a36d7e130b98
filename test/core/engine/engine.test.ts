import { describe, expect, it, vi } from 'vitest'
import type { Consenter } from '../../../src/core/consensus/consenter.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { QueueClosedError } from '../../../src/core/errors.js'
import { type Logger, silentLogger } from '../../../src/core/util/logger.js'
import type { QueuedMessage } from '../../../src/core/engine/bounded-queue.js'
import { createEngine } from '../../../src/core/engine/engine.js'

const LIMITS = { maxMessages: 1000, maxBytes: 1 << 20 }

function message(sender: string, seq: number): QueuedMessage {
  return { envelope: { type: 7, payload: new Uint8Array(4), timestamp: seq }, sender, bytes: 4 }
}

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (err: unknown) => void
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Rejects after `ms` of real time so a hung promise fails the test instead of the whole run. */
function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Resolves once `count` messages have been processed. */
function processedCount(count: number): { hook: (msg: QueuedMessage) => void; done: Promise<void> } {
  const d = deferred()
  let seen = 0
  return {
    hook: () => {
      if (++seen === count) d.resolve()
    },
    done: d.promise,
  }
}

type Lifecycle = () => void | Promise<void>

function consenter(recvMsg: (msg: Envelope, sender: string) => void | Promise<void>) {
  const c = { name: 'test', start: vi.fn<Lifecycle>(), stop: vi.fn<Lifecycle>(), recvMsg }
  return c satisfies Consenter
}

describe('engine', () => {
  it('delivers every message in per-sender order with a synchronous consenter', async () => {
    const got: string[] = []
    const c = consenter((msg, sender) => {
      got.push(`${sender}:${msg.timestamp}`)
    })
    const { hook, done } = processedCount(300)
    const engine = createEngine({ consenter: c, onProcessed: hook })
    await engine.start()
    expect(c.start).toHaveBeenCalledTimes(1)
    const queues = ['a', 'b', 'c'].map((name) => engine.openQueue({ name, ...LIMITS }))
    for (let i = 0; i < 100; i++) for (const q of queues) q.push(message(q.name, i))
    await within(done)
    expect(engine.processed).toBe(300)
    for (const name of ['a', 'b', 'c']) {
      const seqs = got.filter((s) => s.startsWith(`${name}:`)).map((s) => Number(s.split(':')[1]))
      expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i))
    }
    await engine.stop()
  })

  it('calls onHandled with each message only after its (async) recvMsg finished, throws included', async () => {
    const gate = deferred()
    const firstIn = deferred()
    const order: string[] = []
    const c = consenter(async (msg, sender) => {
      order.push(`recv ${sender}:${msg.timestamp}`)
      if (msg.timestamp === 0) {
        firstIn.resolve()
        await gate.promise
      }
      if (msg.timestamp === 1) throw new Error('refused')
      order.push(`done ${sender}:${msg.timestamp}`)
    })
    const { hook, done } = processedCount(3)
    const handled: QueuedMessage[] = []
    const engine = createEngine({ consenter: c, onHandled: (m) => (handled.push(m), hook(m)) })
    await engine.start()
    const q = engine.openQueue({ name: 'a', ...LIMITS })
    const sent = [0, 1, 2].map((i) => message('a', i))
    for (const m of sent) q.push(m)
    await within(firstIn.promise)
    // The first is inside recvMsg: not handled yet.
    expect(handled).toEqual([])
    gate.resolve()
    await within(done)
    expect(handled).toEqual(sent)
    expect(order).toEqual(['recv a:0', 'done a:0', 'recv a:1', 'recv a:2', 'done a:2'])
    await engine.stop()
  })

  it('never runs two recvMsg calls at once with an async consenter', async () => {
    let active = 0
    let maxActive = 0
    let calls = 0
    const c = consenter(async () => {
      active++
      calls++
      maxActive = Math.max(maxActive, active)
      // Vary how long each call stays in flight, so overlap would show if the loop allowed it.
      for (let i = 0; i < calls % 5; i++) await Promise.resolve()
      if (calls % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 0))
      active--
    })
    const { hook, done } = processedCount(200)
    const engine = createEngine({ consenter: c, onProcessed: hook })
    await engine.start()
    const queues = ['a', 'b', 'c', 'd'].map((name) => engine.openQueue({ name, ...LIMITS }))
    for (let i = 0; i < 50; i++) {
      for (const q of queues) q.push(message(q.name, i))
      // Pushes also arrive while a call is in flight.
      if (i % 10 === 0) await Promise.resolve()
    }
    await within(done)
    expect(calls).toBe(200)
    expect(maxActive).toBe(1)
    await engine.stop()
  })

  it('counts and reports a consenter that throws or rejects, and goes on', async () => {
    const warn = vi.fn()
    const log: Logger = { ...silentLogger, warn }
    const seen: number[] = []
    const c = consenter((msg) => {
      const seq = msg.timestamp!
      seen.push(seq)
      if (seq === 1) throw new Error('sync boom')
      if (seq === 3) return Promise.reject(new Error('async boom'))
      return seq % 2 === 0 ? Promise.resolve() : undefined
    })
    const errors: Array<[unknown, QueuedMessage]> = []
    const { hook, done } = processedCount(6)
    const engine = createEngine({
      consenter: c,
      log,
      onProcessed: hook,
      onConsenterError: (err, msg) => errors.push([err, msg]),
    })
    await engine.start()
    const q = engine.openQueue({ name: 'a', ...LIMITS })
    for (let i = 0; i < 6; i++) q.push(message('a', i))
    await within(done)
    expect(seen).toEqual([0, 1, 2, 3, 4, 5])
    expect(engine.consenterErrors).toBe(2)
    expect(engine.processed).toBe(6)
    expect(errors.map(([err, msg]) => [(err as Error).message, msg.envelope.timestamp])).toEqual([
      ['sync boom', 1],
      ['async boom', 3],
    ])
    expect(warn).toHaveBeenCalledTimes(2)
    expect(warn.mock.calls[0]![1]).toMatchObject({ sender: 'a', error: 'sync boom' })
    await engine.stop()
  })

  it('stop() waits for the recvMsg in flight, then closes queues and stops the consenter', async () => {
    const inFlight = deferred()
    const entered = deferred()
    const seen: number[] = []
    const c = consenter((msg) => {
      seen.push(msg.timestamp!)
      entered.resolve()
      return inFlight.promise
    })
    const engine = createEngine({ consenter: c })
    await engine.start()
    const a = engine.openQueue({ name: 'a', ...LIMITS })
    const b = engine.openQueue({ name: 'b', ...LIMITS })
    a.push(message('a', 0))
    a.push(message('a', 1))
    await within(entered.promise)

    // The proof is the order of three events: the in-flight call returning, the consenter's
    // stop, stop() resolving. A stop() that did not wait would stop the consenter first.
    const order: string[] = []
    c.stop.mockImplementation(() => {
      order.push('consenter stopped')
    })
    const stopping = engine.stop().then(() => {
      order.push('stop() resolved')
    })
    expect(engine.stop()).toBe(engine.stop())
    // Queues close at once, in the call itself.
    expect(() => b.push(message('b', 0))).toThrow(QueueClosedError)
    // The engine has no timers: what stop() does without the in-flight call happens in
    // microtasks, and a macrotask runs only once every one of them has.
    await new Promise<void>((resolve) => setTimeout(resolve, 0))
    order.push('recvMsg returned')
    inFlight.resolve()
    await within(stopping)
    expect(order).toEqual(['recvMsg returned', 'consenter stopped', 'stop() resolved'])
    expect(c.stop).toHaveBeenCalledTimes(1)
    expect(seen).toEqual([0])
    expect(a.closed && b.closed).toBe(true)
    expect(engine.queues).toEqual([])
    expect(() => engine.openQueue({ name: 'c', ...LIMITS })).toThrow(QueueClosedError)
    await expect(engine.start()).rejects.toBeInstanceOf(QueueClosedError)
    await engine.stop()
    expect(c.stop).toHaveBeenCalledTimes(1)
  })

  it('stop() of an idle engine ends the waiting loop', async () => {
    const c = consenter(() => {})
    const engine = createEngine({ consenter: c })
    await engine.start()
    engine.openQueue({ name: 'a', ...LIMITS })
    await within(engine.stop())
    expect(c.stop).toHaveBeenCalledTimes(1)
  })

  it('starts the consenter before delivering anything queued earlier', async () => {
    const started = deferred()
    const order: string[] = []
    const c = consenter((msg) => {
      order.push(`msg${msg.timestamp}`)
    })
    c.start.mockImplementation(async () => {
      await started.promise
      order.push('started')
    })
    const { hook, done } = processedCount(2)
    const engine = createEngine({ consenter: c, onProcessed: hook })
    const q = engine.openQueue({ name: 'a', ...LIMITS })
    q.push(message('a', 0))
    const starting = engine.start()
    expect(engine.start()).toBe(starting)
    q.push(message('a', 1))
    started.resolve()
    await within(starting)
    await within(done)
    expect(order).toEqual(['started', 'msg0', 'msg1'])
    await engine.stop()
  })

  it('stop() before start() does not stop a consenter that never started', async () => {
    const c = consenter(() => {})
    const engine = createEngine({ consenter: c })
    const q = engine.openQueue({ name: 'a', ...LIMITS })
    await within(engine.stop())
    expect(q.closed).toBe(true)
    expect(c.start).not.toHaveBeenCalled()
    expect(c.stop).not.toHaveBeenCalled()
  })

  it('a queue closed by its link leaves the engine once drained', async () => {
    const { hook, done } = processedCount(3)
    const engine = createEngine({ consenter: consenter(() => {}), onProcessed: hook })
    const a = engine.openQueue({ name: 'a', ...LIMITS })
    const b = engine.openQueue({ name: 'b', ...LIMITS })
    for (let i = 0; i < 3; i++) a.push(message('a', i))
    a.close()
    expect(engine.queues).toEqual([a, b])
    await engine.start()
    await within(done)
    expect(engine.queues).toEqual([b])
    await engine.stop()
  })

  it('reports each message to onProcessed with a duration', async () => {
    const durations: number[] = []
    const d = deferred()
    const engine = createEngine({
      consenter: consenter(() => {}),
      onProcessed: (msg, ms) => {
        durations.push(ms)
        if (msg.envelope.timestamp === 1) d.resolve()
      },
    })
    await engine.start()
    const q = engine.openQueue({ name: 'a', ...LIMITS })
    q.push(message('a', 0))
    q.push(message('a', 1))
    await within(d.promise)
    expect(durations).toHaveLength(2)
    for (const ms of durations) expect(ms).toBeGreaterThanOrEqual(0)
    await engine.stop()
  })
})

describe('engine stop race', () => {
  it('starts no recvMsg after stop(), even for a message handed to the waiting loop', async () => {
    const recv = vi.fn()
    const engine = createEngine({ consenter: consenter(recv) })
    await engine.start()
    const q = engine.openQueue({ name: 'a', ...LIMITS })
    // The loop is parked in next(); this push resolves it, and stop() comes before it resumes.
    q.push(message('a', 0))
    await within(engine.stop())
    expect(recv).not.toHaveBeenCalled()
  })
})
