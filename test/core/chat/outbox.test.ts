import { describe, expect, it } from 'vitest'
import { Outbox, type OutboxOptions } from '../../../src/core/chat/outbox.js'
import type { ChatStream, ChatStreamEnd } from '../../../src/core/chat/chat-stream.js'
import { MessageTooLargeError, SendBufferFullError, StreamClosedError } from '../../../src/core/errors.js'
import { decodeFrame, envelopeWireSize } from '../../../src/core/wire/codec.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'

/** A stream that records frames and reports a settable bufferedAmount. */
function recordingStream() {
  const frames: Uint8Array[] = []
  let closedWith: { code?: number; reason?: string } | undefined
  const stream: ChatStream & { frames: Uint8Array[]; buffered: number; closedWith?: { code?: number; reason?: string } } = {
    frames,
    buffered: 0,
    remote: 'test',
    done: new Promise<ChatStreamEnd>(() => {}),
    get bufferedAmount() {
      return stream.buffered
    },
    get closed() {
      return closedWith !== undefined
    },
    send(frame) {
      frames.push(frame)
    },
    close(code, reason) {
      closedWith = { code, reason }
      stream.closedWith = closedWith
    },
    [Symbol.asyncIterator]: () => {
      throw new Error('not used')
    },
  }
  return stream
}

const options = (over: Partial<OutboxOptions> = {}): OutboxOptions => ({
  maxFrameBytes: 1024 * 1024,
  maxEnvelopesPerFrame: 256,
  targetFrameBytes: 256 * 1024,
  sendBufferCapBytes: 8 * 1024 * 1024,
  ...over,
})

const env = (n: number, size = 10): Envelope => ({ type: 21, payload: new Uint8Array(size).fill(n & 255) })
const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('Outbox', () => {
  it('coalesces everything sent in one task into one frame, in order', async () => {
    const stream = recordingStream()
    const outbox = new Outbox(stream, options())
    for (let i = 0; i < 100; i++) outbox.send(env(i))
    expect(stream.frames).toHaveLength(0)
    await nextTask()
    expect(stream.frames).toHaveLength(1)
    expect(decodeFrame(stream.frames[0]!).map((e) => e.payload[0])).toEqual(Array.from({ length: 100 }, (_, i) => i))
  })

  it('links flushing the same envelopes in one task share one frame; other lists and later tasks get their own', async () => {
    const streams = [recordingStream(), recordingStream(), recordingStream()]
    const outboxes = streams.map((s) => new Outbox(s, options()))
    const shared = [env(1), env(2), env(3)]
    for (const e of shared) {
      outboxes[0]!.send(e)
      outboxes[1]!.send(e)
    }
    // Equal bytes, different objects: encoded on its own.
    for (const e of shared) outboxes[2]!.send({ ...e })
    await nextTask()
    const [a, b, c] = streams.map((s) => s.frames[0]!)
    expect(a).toBe(b)
    expect(c).not.toBe(a)
    expect(c).toEqual(a)
    expect(decodeFrame(a!).map((e) => e.payload[0])).toEqual([1, 2, 3])
    // A later task with the same envelopes encodes afresh: nothing is kept past the task.
    await nextTask()
    for (const e of shared) outboxes[0]!.send(e)
    await nextTask()
    expect(streams[0]!.frames[1]).not.toBe(a)
    expect(streams[0]!.frames[1]).toEqual(a)
  })

  it('cuts frames at maxEnvelopesPerFrame and at the target size', async () => {
    const stream = recordingStream()
    const outbox = new Outbox(stream, options({ maxEnvelopesPerFrame: 16, targetFrameBytes: 1000 }))
    for (let i = 0; i < 40; i++) outbox.send(env(i))
    await nextTask()
    expect(stream.frames.map((f) => decodeFrame(f).length)).toEqual([16, 16, 8])
    stream.frames.length = 0
    for (let i = 0; i < 6; i++) outbox.send(env(i, 300))
    await nextTask()
    // Each envelope is ~320 bytes: a frame is cut once it reaches 1000 bytes.
    expect(stream.frames.map((f) => decodeFrame(f).length)).toEqual([4, 2])
  })

  it('never builds a frame over maxFrameBytes, and refuses an envelope that alone would pass it', async () => {
    const stream = recordingStream()
    const maxFrameBytes = 2000
    const outbox = new Outbox(stream, options({ maxFrameBytes, targetFrameBytes: 100_000 }))
    for (let i = 0; i < 5; i++) outbox.send(env(i, 700))
    await nextTask()
    for (const frame of stream.frames) expect(frame.byteLength).toBeLessThanOrEqual(maxFrameBytes)
    expect(stream.frames.flatMap((f) => decodeFrame(f)).map((e) => e.payload[0])).toEqual([0, 1, 2, 3, 4])
    expect(() => outbox.send(env(9, maxFrameBytes))).toThrow(MessageTooLargeError)
    expect(stream.closed).toBe(false)
  })

  it('closes the link with 4002 when the remote stops reading past the cap', () => {
    const stream = recordingStream()
    const cap = 10_000
    const outbox = new Outbox(stream, options({ sendBufferCapBytes: cap }))
    stream.buffered = cap - 2 * envelopeWireSize(env(0))
    outbox.send(env(1))
    outbox.send(env(2))
    expect(() => outbox.send(env(3))).toThrow(SendBufferFullError)
    expect(stream.closedWith?.code).toBe(4002)
    expect(() => outbox.send(env(4))).toThrow(StreamClosedError)
  })

  it('ensureRoom refuses before an answer is built once the waiting bytes fill the cap', () => {
    const stream = recordingStream()
    const cap = 10_000
    const outbox = new Outbox(stream, options({ sendBufferCapBytes: cap }))
    stream.buffered = cap - 1
    expect(() => outbox.ensureRoom()).not.toThrow()
    stream.buffered = cap
    expect(() => outbox.ensureRoom()).toThrow(SendBufferFullError)
    expect(stream.closedWith?.code).toBe(4002)
    expect(() => outbox.ensureRoom()).toThrow(StreamClosedError)
  })

  it('reports its backlog: what the transport buffers plus what waits for the next flush', async () => {
    const stream = recordingStream()
    const outbox = new Outbox(stream, options())
    stream.buffered = 1000
    expect(outbox.backlogBytes).toBe(1000)
    outbox.send(env(1, 100))
    outbox.send(env(2, 100))
    expect(outbox.backlogBytes).toBe(1000 + envelopeWireSize(env(1, 100)) + envelopeWireSize(env(2, 100)))
    await nextTask()
    expect(stream.frames).toHaveLength(1)
    expect(outbox.backlogBytes).toBe(1000)
  })
})
