import { describe, expect, it } from 'vitest'
import { openWebSocketChat, type WebSocketLike } from '../../../src/core/chat/websocket-chat-stream.js'
import { TransportError, AbortError } from '../../../src/core/errors.js'
import { WebSocket } from 'ws'
import { createWsPair } from '../../support/ws-pair.js'
import { chatStreamCompliance } from './chat-stream-compliance.js'

chatStreamCompliance('WebSocket (ws on loopback)', () => createWsPair())
// What the Node server and connector use: frames arrive as views of the socket's reads, not copies.
chatStreamCompliance('WebSocket (ws on loopback, nodebuffer)', () => createWsPair({ binaryType: 'nodebuffer' }))

describe('WebSocket chat stream', () => {
  it('delivers every frame intact when many share one socket read (nodebuffer views)', async () => {
    const pair = await createWsPair({ binaryType: 'nodebuffer' })
    try {
      // Sent in one tick, so most arrive in the same reads; each must stay its own bytes.
      const sent = Array.from({ length: 200 }, (_, i) => new Uint8Array(1 + (i % 37)).fill(i & 0xff))
      for (const frame of sent) pair.a.send(frame)
      const got: Uint8Array[] = []
      for await (const frame of pair.b) {
        got.push(frame)
        if (got.length === sent.length) break
      }
      expect(got.map((f) => Array.from(f))).toEqual(sent.map((f) => Array.from(f)))
      expect(got.some((f) => f.byteOffset > 0 || f.buffer.byteLength > f.byteLength)).toBe(true)
    } finally {
      await pair.cleanup()
    }
  })

  it('a 4002 close (remote not reading) drops the connection at once and still ends with 4002', async () => {
    const pair = await createWsPair({ binaryType: 'nodebuffer' })
    try {
      // The client stops reading: a close handshake could never complete, ws would wait 30 s.
      ;(pair.client as unknown as { _socket: { pause(): void } })._socket.pause()
      for (let i = 0; i < 64; i++) pair.b.send(new Uint8Array(256 * 1024))
      expect(pair.b.bufferedAmount).toBeGreaterThan(0)
      pair.b.close(4002, 'send buffer full')
      const end = await pair.b.done
      expect(end).toMatchObject({ code: 4002, local: true, error: false })
      expect(pair.server.readyState).toBe(WebSocket.CLOSED)
    } finally {
      await pair.cleanup()
    }
  })

  it('any other local close keeps the close handshake', async () => {
    const pair = await createWsPair()
    try {
      pair.b.close(1000, 'bye')
      expect(pair.server.readyState).toBe(WebSocket.CLOSING)
      expect((await pair.a.done).code).toBe(1000)
      expect((await pair.b.done).code).toBe(1000)
    } finally {
      await pair.cleanup()
    }
  })

  it('closes with 1003 on a text frame and delivers nothing', async () => {
    const pair = await createWsPair()
    try {
      pair.client.send('hello as text')
      const frames: Uint8Array[] = []
      const err = await (async () => {
        for await (const frame of pair.b) frames.push(frame)
      })().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(frames).toEqual([])
      expect(err).toBeInstanceOf(TransportError)
      expect((await pair.b.done).code).toBe(1003)
      expect((await pair.a.done).code).toBe(1003)
      // The side that did not close reads the token from the close reason (PROTOCOL.md 13.1).
      const remoteEnd = (await pair.a.done).local ? await pair.b.done : await pair.a.done
      expect(remoteEnd.reason).toMatch(/^ERR_TEXT_FRAME: /)
    } finally {
      await pair.cleanup()
    }
  })

  it('closes with 1009 on a frame over the limit before decoding it', async () => {
    // The server-side ws enforces maxPayload itself; here the stream's own check (what protects
    // browsers, which have no maxPayload) is exercised with a larger transport limit.
    const pair = await createWsPair({ maxFrameBytes: 1024, transportMaxPayload: 1024 * 1024 })
    try {
      pair.b.send(new Uint8Array(4096))
      const err = await (async () => {
        for await (const _ of pair.a) void _
      })().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(TransportError)
      expect((await pair.a.done).code).toBe(1009)
      expect((await pair.b.done).reason).toBe('ERR_FRAME_TOO_LARGE: frame of 4096 bytes exceeds the limit of 1024 bytes')
    } finally {
      await pair.cleanup()
    }
  })

  it('dialing a port nobody listens on rejects with TransportError', async () => {
    await expect(
      openWebSocketChat(() => {
        const ws = new WebSocket('ws://127.0.0.1:1/chat')
        ws.on('error', () => {})
        return ws as unknown as WebSocketLike
      }, { remote: 'ws://127.0.0.1:1/chat', maxFrameBytes: 1024, timeoutMs: 3000 }),
    ).rejects.toBeInstanceOf(TransportError)
  })

  it('an aborted dial rejects with AbortError', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(
      openWebSocketChat(() => new WebSocket('ws://127.0.0.1:1/chat') as unknown as WebSocketLike, {
        remote: 'x',
        maxFrameBytes: 1024,
        timeoutMs: 3000,
        signal: controller.signal,
      }),
    ).rejects.toBeInstanceOf(AbortError)
  })
})

describe('close codes from browsers', () => {
  it('reads 3001-3999 as the RFC 6455 code 2000 lower (browsers cannot send most 1xxx codes)', async () => {
    const pair = await createWsPair()
    try {
      pair.client.close(3003, 'text frame')
      expect(await pair.b.done).toMatchObject({ code: 1003, error: true, local: false })
    } finally {
      await pair.cleanup()
    }
  })
})
