import { describe, expect, it, vi } from 'vitest'
import { handleChat, type ChatHandler } from '../../../src/core/chat/handle-chat.js'
import { createMemoryChatPair } from '../../../src/core/chat/memory-chat-stream.js'
import type { ChatStream } from '../../../src/core/chat/chat-stream.js'
import { DecodeError, TransportError, UnknownTypeError, WspeerError } from '../../../src/core/errors.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodeFrame, encodeFrame } from '../../../src/core/wire/codec.js'
import { decodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'

function recordingHandler(stream: ChatStream, onMessage: (env: Envelope) => void | Promise<void> = () => {}) {
  const seen: Envelope[] = []
  const handler: ChatHandler & { seen: Envelope[]; stopped: number } = {
    seen,
    stopped: 0,
    handleMessage(env) {
      seen.push(env)
      return onMessage(env)
    },
    stop() {
      handler.stopped++
    },
    reply(env) {
      stream.send(encodeFrame([env]))
    },
  }
  return handler
}

const ping = (nonce: number) => makeEnvelope(MessageType.KEEPALIVE_PING, { nonce })

/** Reads frames the remote side received and decodes them. */
async function nextEnvelopes(stream: ChatStream): Promise<Envelope[]> {
  for await (const frame of stream) return decodeFrame(frame)
  return []
}

describe('handleChat', () => {
  it('delivers every envelope of every frame in order, and EOF ends it cleanly with the handler stopped', async () => {
    const [local, remote] = createMemoryChatPair()
    let handler!: ReturnType<typeof recordingHandler>
    const chat = handleChat(local, false, {
      createHandler: (stream) => (handler = recordingHandler(stream)),
      maxDecodeErrors: 3,
    })
    remote.send(encodeFrame([ping(1), ping(2)]))
    remote.send(encodeFrame([ping(3)]))
    remote.close(1000)
    await expect(chat).resolves.toBeUndefined()
    expect(handler.seen.map((e) => decodePayload(MessageType.KEEPALIVE_PING, e.payload).nonce)).toEqual([1, 2, 3])
    expect(handler.stopped).toBe(1)
  })

  it('passes the initiated flag to the handler factory', async () => {
    const [local, remote] = createMemoryChatPair()
    const factory = vi.fn((stream: ChatStream) => recordingHandler(stream))
    const chat = handleChat(local, true, { createHandler: factory, maxDecodeErrors: 3 })
    remote.close()
    await chat
    expect(factory).toHaveBeenCalledWith(local, true)
  })

  it('a transport error ends it with that error, and the handler is still stopped', async () => {
    const [local, remote] = createMemoryChatPair()
    let handler!: ReturnType<typeof recordingHandler>
    const chat = handleChat(local, false, { createHandler: (s) => (handler = recordingHandler(s)), maxDecodeErrors: 3 })
    remote.fail()
    await expect(chat).rejects.toBeInstanceOf(TransportError)
    expect(handler.stopped).toBe(1)
  })

  it('a handler error is answered with RESPONSE(FAILURE) and the loop goes on', async () => {
    const [local, remote] = createMemoryChatPair()
    const errors: string[] = []
    let handler!: ReturnType<typeof recordingHandler>
    const chat = handleChat(local, false, {
      createHandler: (s) =>
        (handler = recordingHandler(s, (env) => {
          if (decodePayload(MessageType.KEEPALIVE_PING, env.payload).nonce === 1) throw new UnknownTypeError(99)
        })),
      maxDecodeErrors: 3,
      onError: (err) => errors.push(err.code),
    })
    remote.send(encodeFrame([ping(1), ping(2)]))
    const [reply] = await nextEnvelopes(remote)
    expect(reply!.type).toBe(MessageType.RESPONSE)
    expect(decodePayload(MessageType.RESPONSE, reply!.payload)).toMatchObject({
      status: 500,
      code: 'ERR_UNKNOWN_TYPE',
      inReplyTo: MessageType.KEEPALIVE_PING,
    })
    remote.close()
    await chat
    expect(handler.seen).toHaveLength(2)
    expect(errors).toEqual(['ERR_UNKNOWN_TYPE'])
    expect(handler.stopped).toBe(1)
  })

  it('an async handler error (rejection) is handled the same way', async () => {
    const [local, remote] = createMemoryChatPair()
    const errors: unknown[] = []
    const chat = handleChat(local, false, {
      createHandler: (s) => recordingHandler(s, async () => Promise.reject(new Error('boom'))),
      maxDecodeErrors: 3,
      onError: (err) => errors.push(err),
    })
    remote.send(encodeFrame([ping(1)]))
    const [reply] = await nextEnvelopes(remote)
    expect(decodePayload(MessageType.RESPONSE, reply!.payload).msg).toContain('boom')
    remote.close()
    await chat
    expect(errors[0]).toBeInstanceOf(WspeerError)
  })

  it('never answers a RESPONSE with a RESPONSE', async () => {
    const [local, remote] = createMemoryChatPair()
    const chat = handleChat(local, false, {
      createHandler: (s) =>
        recordingHandler(s, () => {
          throw new Error('refused')
        }),
      maxDecodeErrors: 3,
    })
    remote.send(encodeFrame([makeEnvelope(MessageType.RESPONSE, { status: 500, msg: 'x' }), ping(5)]))
    // Only the PING is answered.
    const replies = await nextEnvelopes(remote)
    expect(replies).toHaveLength(1)
    expect(decodePayload(MessageType.RESPONSE, replies[0]!.payload).inReplyTo).toBe(MessageType.KEEPALIVE_PING)
    remote.close()
    await chat
  })

  it('an error with a close code ends the link with that code', async () => {
    const [local, remote] = createMemoryChatPair()
    const chat = handleChat(local, false, {
      createHandler: (s) =>
        recordingHandler(s, () => {
          throw new WspeerError('ERR_POLICY', 'not welcome', { closeCode: 1008 })
        }),
      maxDecodeErrors: 3,
    })
    remote.send(encodeFrame([ping(1), ping(2)]))
    await expect(chat).rejects.toMatchObject({ code: 'ERR_POLICY' })
    expect((await remote.done).code).toBe(1008)
  })

  it('answers undecodable frames and closes with 1007 after maxDecodeErrors of them', async () => {
    const [local, remote] = createMemoryChatPair()
    let handler!: ReturnType<typeof recordingHandler>
    const chat = handleChat(local, false, { createHandler: (s) => (handler = recordingHandler(s)), maxDecodeErrors: 3 })
    remote.send(new Uint8Array([0xc1]))
    const [first] = await nextEnvelopes(remote)
    expect(decodePayload(MessageType.RESPONSE, first!.payload).code).toBe('ERR_DECODE')
    // A valid frame between bad ones is still handled.
    remote.send(encodeFrame([ping(7)]))
    remote.send(new Uint8Array([0x92, 0x01]))
    remote.send(new Uint8Array([0xff, 0xff, 0xff]))
    await expect(chat).rejects.toBeInstanceOf(DecodeError)
    expect(handler.seen).toHaveLength(1)
    expect((await remote.done).code).toBe(1007)
    expect(handler.stopped).toBe(1)
  })
})

describe('handleChat and undecodable payloads', () => {
  it('counts a payload DecodeError from the handler like an undecodable frame: answered, closed only when repeated', async () => {
    const [local, remote] = createMemoryChatPair()
    const chat = handleChat(local, false, {
      createHandler: (s) =>
        recordingHandler(s, (env) => {
          decodePayload(MessageType.KEEPALIVE_PING, env.payload)
        }),
      maxDecodeErrors: 2,
    })
    const badPing = { type: MessageType.KEEPALIVE_PING, payload: new Uint8Array([0xc1]) }
    remote.send(encodeFrame([badPing]))
    const [first] = await nextEnvelopes(remote)
    expect(decodePayload(MessageType.RESPONSE, first!.payload).code).toBe('ERR_DECODE')
    expect(remote.closed).toBe(false)
    remote.send(encodeFrame([badPing]))
    await expect(chat).rejects.toBeInstanceOf(DecodeError)
    expect((await remote.done).code).toBe(1007)
  })
})
