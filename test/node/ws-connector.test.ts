import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { AbortError, CloseCode, TimeoutError, TransportError } from '../../src/core/errors.js'
import { DEFAULT_PEER_LIMITS } from '../../src/core/peer/limits.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { createPeerServer, type PeerServer } from '../../src/node/server.js'
import { createNodeConnector } from '../../src/node/ws-connector.js'
import { createFakePeer, type FakePeer } from './fake-peer.js'

const MAX_FRAME = 4096

async function collect(stream: ChatStream): Promise<{ frames: Uint8Array[]; error: unknown }> {
  const frames: Uint8Array[] = []
  try {
    for await (const frame of stream) frames.push(frame)
    return { frames, error: undefined }
  } catch (error) {
    return { frames, error }
  }
}

describe('createNodeConnector', () => {
  let peer: FakePeer
  let server: PeerServer
  let url: string
  const connect = createNodeConnector({ maxFrameBytes: MAX_FRAME, dialTimeoutMs: 2000 })

  beforeEach(async () => {
    peer = createFakePeer()
    server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits: { ...DEFAULT_PEER_LIMITS, maxFrameBytes: MAX_FRAME }, log: silentLogger })
    const { port } = await server.start()
    url = `ws://127.0.0.1:${port}/chat`
  })
  afterEach(async () => {
    await server.stop()
  })

  it('opens a chat stream that carries binary frames both ways', async () => {
    peer.onAccept = async (stream) => {
      for await (const frame of stream) stream.send(Uint8Array.from(frame, (b) => b + 1))
    }
    const stream = await connect(url, { maxFrameBytes: MAX_FRAME })
    expect(stream.remote).toBe(url)
    const frames = stream[Symbol.asyncIterator]()
    stream.send(Uint8Array.of(1, 2, 3))
    const first = await frames.next()
    expect(first.done).toBe(false)
    expect([...(first.value as Uint8Array)]).toEqual([2, 3, 4])
    stream.close(CloseCode.NORMAL)
    expect((await frames.next()).done).toBe(true)
    expect(await stream.done).toMatchObject({ code: CloseCode.NORMAL, local: true, error: false })
  })

  it('closes with 1009 when the server sends a frame over maxFrameBytes', async () => {
    let serverEnd: Promise<{ code: number; reason: string }> | undefined
    peer.onAccept = async (stream) => {
      serverEnd = stream.done
      stream.send(new Uint8Array(MAX_FRAME + 1))
      await collect(stream)
    }
    const stream = await connect(url, { maxFrameBytes: MAX_FRAME })
    const { frames, error } = await collect(stream)
    expect(frames).toEqual([])
    expect(error).toBeInstanceOf(TransportError)
    expect((await stream.done).error).toBe(true)
    // ws stops reading after a receive error, so only the sender sees the 1009 it was sent.
    expect((await serverEnd!).code).toBe(CloseCode.MESSAGE_TOO_BIG)
    // The dialer's ws refused the frame by itself; the reason still carries the token (PROTOCOL.md 13.1).
    expect((await serverEnd!).reason).toBe(`ERR_FRAME_TOO_LARGE: frame over the limit of ${MAX_FRAME} bytes`)
  })

  it('rejects with TransportError when nothing listens', async () => {
    await server.stop()
    await expect(connect(url, { maxFrameBytes: MAX_FRAME })).rejects.toBeInstanceOf(TransportError)
  })

  it('rejects with TransportError for a path the server refuses', async () => {
    await expect(connect(url.replace('/chat', '/nope'), { maxFrameBytes: MAX_FRAME })).rejects.toBeInstanceOf(TransportError)
  })

  it.each(['not a url', 'http://127.0.0.1:1/chat'])('rejects %j with TransportError', async (address) => {
    await expect(connect(address, { maxFrameBytes: MAX_FRAME })).rejects.toBeInstanceOf(TransportError)
  })

  it('rejects with AbortError when aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(connect(url, { maxFrameBytes: MAX_FRAME, signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
  })

  describe('against a server that never answers the upgrade', () => {
    let silent: Server
    const sockets = new Set<Socket>()
    let silentUrl: string

    beforeEach(async () => {
      silent = createServer((socket) => {
        sockets.add(socket)
        socket.on('error', () => {})
      })
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      silentUrl = `ws://127.0.0.1:${(silent.address() as { port: number }).port}/chat`
    })
    afterEach(async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => silent.close(() => resolve()))
    })

    it('gives up after dialTimeoutMs', async () => {
      // What shows it gave up is the dialer closing its socket, not a wall-clock bound (the
      // test's own timeout, far above 200 ms, is the only clock).
      // Reading (and dropping) the request is what lets the server see the dialer's FIN.
      const dialerClosed = new Promise<void>((resolve) => silent.once('connection', (socket: Socket) => socket.once('close', () => resolve()).resume()))
      const quick = createNodeConnector({ maxFrameBytes: MAX_FRAME, dialTimeoutMs: 200 })
      const err = await quick(silentUrl, { maxFrameBytes: MAX_FRAME }).catch((e: unknown) => e)
      // Two timers of the same length race: ours (TimeoutError) and ws's handshake timeout (the socket fails first).
      expect(err instanceof TimeoutError || err instanceof TransportError).toBe(true)
      await dialerClosed
    })

    it('aborts a dial in progress', async () => {
      const controller = new AbortController()
      const dial = connect(silentUrl, { maxFrameBytes: MAX_FRAME, signal: controller.signal })
      await expect.poll(() => sockets.size).toBe(1)
      controller.abort()
      await expect(dial).rejects.toBeInstanceOf(AbortError)
    })
  })
})
