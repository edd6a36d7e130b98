import { describe, expect, it } from 'vitest'
import type { ChatStream } from '../../../src/core/chat/chat-stream.js'
import { StreamClosedError, TransportError } from '../../../src/core/errors.js'

/**
 * The contract every ChatStream implementation must keep (see src/core/chat/chat-stream.ts).
 * `connect` returns a connected pair plus a way to break the transport abnormally.
 */
export interface StreamPairFixture {
  a: ChatStream
  b: ChatStream
  /** Ends the connection abnormally (as a lost TCP connection would). */
  breakTransport(): void
  cleanup?(): Promise<void>
}

async function collect(stream: ChatStream, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  if (count === 0) return out
  for await (const frame of stream) {
    out.push(frame)
    if (out.length === count) break
  }
  return out
}

export function chatStreamCompliance(name: string, connect: () => Promise<StreamPairFixture>): void {
  describe(`ChatStream compliance: ${name}`, () => {
    it('delivers frames in order, byte for byte, both ways', async () => {
      const pair = await connect()
      try {
        const frames = Array.from({ length: 50 }, (_, i) => new Uint8Array([i, i + 1, i + 2, 255 - i]))
        for (const frame of frames) pair.a.send(frame)
        pair.b.send(new Uint8Array([9, 9]))
        expect(await collect(pair.b, 50)).toEqual(frames)
        expect(await collect(pair.a, 1)).toEqual([new Uint8Array([9, 9])])
      } finally {
        await pair.cleanup?.()
      }
    })

    it('a sender may reuse its buffer after send', async () => {
      const pair = await connect()
      try {
        const buf = new Uint8Array([1, 2, 3])
        pair.a.send(buf)
        buf[0] = 42
        expect(await collect(pair.b, 1)).toEqual([new Uint8Array([1, 2, 3])])
      } finally {
        await pair.cleanup?.()
      }
    })

    it('a clean close ends iteration on both sides without error, after frames sent before it', async () => {
      const pair = await connect()
      try {
        pair.a.send(new Uint8Array([1]))
        pair.a.send(new Uint8Array([2]))
        pair.a.close(1000, 'bye')
        const received: Uint8Array[] = []
        for await (const frame of pair.b) received.push(frame)
        expect(received).toEqual([new Uint8Array([1]), new Uint8Array([2])])
        const endB = await pair.b.done
        expect(endB).toMatchObject({ code: 1000, local: false, error: false })
        const endA = await pair.a.done
        expect(endA).toMatchObject({ local: true, error: false })
        // The closing side's iteration ends too.
        expect(await collect(pair.a, 5)).toEqual([])
      } finally {
        await pair.cleanup?.()
      }
    })

    it('send after close throws StreamClosedError; close is idempotent', async () => {
      const pair = await connect()
      try {
        pair.a.close()
        pair.a.close()
        expect(pair.a.closed).toBe(true)
        expect(() => pair.a.send(new Uint8Array([1]))).toThrow(StreamClosedError)
        await pair.b.done
      } finally {
        await pair.cleanup?.()
      }
    })

    it('an error close code ends the remote iteration with TransportError carrying the code', async () => {
      const pair = await connect()
      try {
        pair.a.close(4001, 'duplicate')
        const failure = (async () => {
          for await (const _ of pair.b) void _
        })()
        const err = await failure.then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(TransportError)
        expect((err as TransportError).remoteCloseCode).toBe(4001)
        expect(await pair.b.done).toMatchObject({ code: 4001, error: true, local: false })
        // The side that chose to close ends cleanly: it knows why.
        expect(await pair.a.done).toMatchObject({ local: true, error: false })
      } finally {
        await pair.cleanup?.()
      }
    })

    it('a broken transport ends both iterations with TransportError', async () => {
      const pair = await connect()
      try {
        const ends = [pair.a, pair.b].map((stream) =>
          (async () => {
            for await (const _ of stream) void _
          })().then(
            () => 'clean',
            (e: unknown) => e,
          ),
        )
        pair.breakTransport()
        for (const end of await Promise.all(ends)) expect(end).toBeInstanceOf(TransportError)
        expect((await pair.a.done).error).toBe(true)
        expect((await pair.b.done).error).toBe(true)
      } finally {
        await pair.cleanup?.()
      }
    })

    it('allows only one iterator', async () => {
      const pair = await connect()
      try {
        const first = pair.b[Symbol.asyncIterator]()
        const firstNext = first.next()
        const second = pair.b[Symbol.asyncIterator]()
        await expect(second.next()).rejects.toThrow(TypeError)
        pair.a.send(new Uint8Array([7]))
        expect((await firstNext).value).toEqual(new Uint8Array([7]))
      } finally {
        await pair.cleanup?.()
      }
    })
  })
}
