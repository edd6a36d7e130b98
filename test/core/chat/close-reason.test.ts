import { readFileSync, readdirSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import '../../support/test-consenters.js'
import { CLOSE_REASON_MAX_BYTES, CloseToken, closeReason, parseCloseReason } from '../../../src/core/chat/close-reason.js'
import { handleChat } from '../../../src/core/chat/handle-chat.js'
import { createMemoryChatPair } from '../../../src/core/chat/memory-chat-stream.js'
import { Outbox } from '../../../src/core/chat/outbox.js'
import type { ChatStream, ChatStreamEnd } from '../../../src/core/chat/chat-stream.js'
import { CloseCode, SendBufferFullError } from '../../../src/core/errors.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { makeEnvelope } from '../../../src/core/wire/payloads.js'
import { encodeFrame } from '../../../src/core/wire/codec.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import { MemoryNetwork } from '../../support/memory-network.js'
import { RawLink } from '../../support/raw-link.js'

/**
 * PROTOCOL.md 13.1: every close a peer makes carries `TOKEN: prose` in its reason, within 123
 * bytes. One test per close code the core sends; the codes only the WebSocket layer sends (1002,
 * 1003, 1009 and ws's 1007) are checked in test/node/server.test.ts and websocket-chat-stream.test.ts.
 */
const encoder = new TextEncoder()

function expectToken(end: ChatStreamEnd, code: number, token: string): void {
  expect(end.code).toBe(code)
  expect(parseCloseReason(end.reason), end.reason).toMatchObject({ token })
  expect(encoder.encode(end.reason).length).toBeLessThanOrEqual(CLOSE_REASON_MAX_BYTES)
}

describe('closeReason', () => {
  it('puts the token first and keeps it whole while cutting long prose to 123 bytes', () => {
    expect(closeReason('ERR_DECODE', 'bad msgpack')).toBe('ERR_DECODE: bad msgpack')
    const long = closeReason('ERR_HANDSHAKE', 'é'.repeat(200))
    expect(encoder.encode(long).length).toBeLessThanOrEqual(CLOSE_REASON_MAX_BYTES)
    expect(long.startsWith('ERR_HANDSHAKE: éé')).toBe(true)
    expect(long.endsWith('...')).toBe(true)
    expect(long).not.toContain('\uFFFD')
    expect(parseCloseReason(long)?.token).toBe('ERR_HANDSHAKE')
  })

  it('refuses a token outside the grammar, and parses none from prose-only reasons', () => {
    expect(() => closeReason('err_lower', 'x')).toThrow(TypeError)
    expect(() => closeReason('ERR X', 'x')).toThrow(TypeError)
    expect(parseCloseReason('superseded by another link')).toBeUndefined()
    expect(parseCloseReason('')).toBeUndefined()
    expect(parseCloseReason('ERR_X: a: b')).toEqual({ token: 'ERR_X', text: 'a: b' })
  })
})

describe('every close a peer makes carries a token', () => {
  let net: MemoryNetwork | undefined
  afterEach(async () => {
    await net?.stopAll()
    net = undefined
  })

  const start = async (limits: Record<string, number> = {}, clock?: ManualClock) => {
    net = new MemoryNetwork()
    const peer = net.add({ id: 'vp0', role: 'validator', consensus: 'test-recording', limits, ...(clock === undefined ? {} : { clock }) })
    await peer.start()
    return peer
  }

  it('1000 DISCONNECT after DISC_DISCONNECT', async () => {
    const raw = await RawLink.established(await start(), 'vp1')
    raw.send(makeEnvelope(MessageType.DISC_DISCONNECT, { reason: 'bye' }))
    expectToken(await raw.stream.done, CloseCode.NORMAL, CloseToken.DISCONNECT)
  })

  it('1001 STOPPING when the peer stops', async () => {
    const peer = await start()
    const raw = await RawLink.established(peer, 'vp1')
    await peer.stop()
    expectToken(await raw.stream.done, CloseCode.GOING_AWAY, CloseToken.STOPPING)
  })

  it('1007 ERR_DECODE after repeated undecodable frames', async () => {
    const raw = await RawLink.established(await start(), 'vp1')
    for (let i = 0; i < 3; i++) raw.sendBytes(new Uint8Array([0xc1]))
    expectToken(await raw.stream.done, CloseCode.INVALID_PAYLOAD, 'ERR_DECODE')
  })

  it('1008 ERR_HANDSHAKE for a refused HELLO, after the RESPONSE with the same code', async () => {
    const raw = new RawLink(await start())
    raw.plainHello('vp1')
    expect(await raw.nextResponse()).toMatchObject({ code: 'ERR_HANDSHAKE' })
    const end = await raw.stream.done
    expectToken(end, CloseCode.POLICY_VIOLATION, 'ERR_HANDSHAKE')
    // The 8.1.5 refusal reason leads the prose.
    expect(parseCloseReason(end.reason)?.text).toMatch(/^malformed: /)
  })

  it('1008 ERR_HANDSHAKE_TIMEOUT when no HELLO comes', async () => {
    const clock = new ManualClock()
    const raw = new RawLink(await start({ handshakeTimeoutMs: 2000 }, clock))
    clock.advance(2500)
    expect(await raw.nextResponse()).toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT' })
    const end = await raw.stream.done
    expectToken(end, CloseCode.POLICY_VIOLATION, 'ERR_HANDSHAKE_TIMEOUT')
    expect(parseCloseReason(end.reason)?.text).toBe('timeout: handshake not completed within 2000 ms')
  })

  it('4001 ERR_DUPLICATE_LINK: the replaced link gets a RESPONSE with the code, then the close', async () => {
    const peer = await start()
    const first = await RawLink.established(peer, 'vp5')
    await RawLink.established(peer, 'vp5')
    expect(await first.nextResponse()).toMatchObject({ status: 500, code: 'ERR_DUPLICATE_LINK' })
    expectToken(await first.stream.done, CloseCode.DUPLICATE_LINK, 'ERR_DUPLICATE_LINK')
  })

  it('4003 ERR_KEEPALIVE_TIMEOUT on a silent link', async () => {
    const clock = new ManualClock()
    const raw = await RawLink.established(await start({ keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 3000 }, clock), 'vp1')
    for (let i = 0; i < 8 && !raw.stream.closed; i++) {
      clock.advance(1000)
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
    expectToken(await raw.stream.done, CloseCode.KEEPALIVE_TIMEOUT, CloseToken.KEEPALIVE_TIMEOUT)
  })

  it('4005 ERR_LIMIT at the peer cap', async () => {
    const peer = await start({ maxPeers: 1 })
    await RawLink.established(peer, 'vp1')
    const second = new RawLink(peer)
    await second.hello('vp2').catch(() => undefined)
    expectToken(await second.stream.done, CloseCode.TOO_MANY_PEERS, 'ERR_LIMIT')
  })

  it('1011 ERR_INTERNAL when the receive loop itself fails', async () => {
    const [local, remote] = createMemoryChatPair()
    const chat = handleChat(local, false, {
      createHandler: () => ({
        start: () => {
          throw new Error('a bug')
        },
        handleMessage: () => {},
        stop: () => {},
        reply: () => {},
      }),
      maxDecodeErrors: 3,
    })
    await expect(chat).rejects.toThrow()
    expectToken(await remote.done, CloseCode.INTERNAL_ERROR, CloseToken.INTERNAL)
  })

  it('4002 ERR_SEND_BUFFER_FULL when the remote stops reading', () => {
    let closed: { code?: number; reason?: string } = {}
    const stream = {
      remote: 'stuck',
      bufferedAmount: 1_000_000,
      closed: false,
      done: new Promise<ChatStreamEnd>(() => {}),
      send: () => {},
      close: (code?: number, reason?: string) => {
        closed = { code, reason }
      },
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => {}) }),
    } as unknown as ChatStream
    const outbox = new Outbox(stream, { maxFrameBytes: 1 << 20, targetFrameBytes: 1 << 18, maxEnvelopesPerFrame: 256, sendBufferCapBytes: 1000 })
    expect(() => outbox.send(makeEnvelope(MessageType.KEEPALIVE_PING, { nonce: 1 }))).toThrow(SendBufferFullError)
    expectToken({ code: closed.code ?? 0, reason: closed.reason ?? '', local: true, error: true }, CloseCode.SEND_BUFFER_FULL, 'ERR_SEND_BUFFER_FULL')
  })
})

describe('a frame over the codec limit in the receive loop', () => {
  it('is answered by the 1009 close alone, with its token, and no RESPONSE (PROTOCOL.md 7.2)', async () => {
    const [local, remote] = createMemoryChatPair()
    const chat = handleChat(local, false, {
      createHandler: (stream) => ({
        handleMessage: () => {},
        stop: () => {},
        reply: (env) => stream.send(encodeFrame([env])),
      }),
      codecLimits: { maxFrameBytes: 64 },
      maxDecodeErrors: 3,
    })
    const frames: Uint8Array[] = []
    const read = (async () => {
      for await (const frame of remote) frames.push(frame)
    })().catch(() => undefined)
    remote.send(new Uint8Array(65).fill(0x90))
    await expect(chat).rejects.toMatchObject({ code: 'ERR_FRAME_TOO_LARGE' })
    expect((await remote.done).reason).toBe('ERR_FRAME_TOO_LARGE: frame of 65 bytes exceeds the limit of 64 bytes')
    expectToken(await remote.done, CloseCode.MESSAGE_TOO_BIG, 'ERR_FRAME_TOO_LARGE')
    await read
    expect(frames).toEqual([])
  })
})

describe('no close in src passes prose without a token', () => {
  it('finds no close(code, "literal text") call: reasons go through closeReason', () => {
    const root = new URL('../../../src/', import.meta.url)
    const offenders: string[] = []
    const walk = (dir: URL): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir))
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(new URL(entry.name, dir), 'utf8')
          if (/\.close\(\s*(?:CloseCode\.[A-Z_]+|\d{4})\s*,\s*['"`]/.test(text)) offenders.push(entry.name)
        }
      }
    }
    walk(root)
    expect(offenders).toEqual([])
  })
})
