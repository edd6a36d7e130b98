import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { CloseToken, parseCloseReason } from '../../src/core/chat/close-reason.js'
import { CloseCode } from '../../src/core/errors.js'
import { DEFAULT_PEER_LIMITS } from '../../src/core/peer/limits.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { createPeerServer, type PeerServer } from '../../src/node/server.js'
import { createFakePeer, type FakePeer } from './fake-peer.js'
import { rawRequest } from './http-helpers.js'

const MAX_FRAME = 1024

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
}

function openClient(port: number, path = '/chat'): WebSocket {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false })
  ws.on('error', () => {})
  return ws
}

/** Drains a stream the way a peer would, so close codes chosen by the stream reach the client. */
async function drain(stream: ChatStream): Promise<void> {
  try {
    for await (const _frame of stream) {
      // discard
    }
  } catch {
    // The stream ends with an error for every non-clean close; that is what these tests provoke.
  }
}

/** Upgrades a raw TCP socket on /chat by hand and resolves once the 101 has arrived. */
async function rawUpgrade(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const chunks: Buffer[] = []
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const key = randomBytes(16).toString('base64')
  socket.write(
    `GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (Buffer.concat(chunks).includes('\r\n\r\n')) resolve()
    })
    socket.once('close', () => reject(new Error('closed before 101')))
  })
  const head = Buffer.concat(chunks).toString('latin1')
  expect(head.startsWith('HTTP/1.1 101')).toBe(true)
  return { socket, received: () => Buffer.concat(chunks), closed }
}

/** The code and reason of the first close frame (opcode 8) the server sent after the handshake. */
function serverClose(bytes: Buffer): { code: number; reason: string } | undefined {
  const start = bytes.indexOf('\r\n\r\n') + 4
  let i = start
  while (i + 2 <= bytes.length) {
    const opcode = bytes[i]! & 0x0f
    const len = bytes[i + 1]! & 0x7f
    if (opcode === 8) return len >= 2 ? { code: bytes.readUInt16BE(i + 2), reason: bytes.subarray(i + 4, i + 2 + len).toString('utf8') } : { code: 1005, reason: '' }
    i += 2 + len
  }
  return undefined
}

/** PROTOCOL.md 13.1: the reason starts with the token. */
function tokenOf(reason: string): string | undefined {
  return parseCloseReason(reason)?.token
}

function maskedFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4)
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!))
  return Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]), mask, masked])
}

describe('createPeerServer', () => {
  let peer: FakePeer
  let server: PeerServer
  let port: number

  beforeEach(async () => {
    peer = createFakePeer()
    server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits: { ...DEFAULT_PEER_LIMITS, maxFrameBytes: MAX_FRAME }, log: silentLogger, headersTimeoutMs: 300 })
    ;({ port } = await server.start())
  })
  afterEach(async () => {
    await server.stop()
  })

  it('binds an ephemeral port when asked for port 0', () => {
    expect(port).toBeGreaterThan(0)
  })

  it('hands a /chat connection to peer.acceptStream with the remote address', async () => {
    peer.onAccept = async (stream) => {
      const frames: Uint8Array[] = []
      for await (const frame of stream) {
        frames.push(frame)
        stream.send(frame) // echo
      }
    }
    const ws = openClient(port)
    const stream = await peer.nextStream()
    expect(stream.remote).toMatch(/^127\.0\.0\.1:\d+$/)
    await new Promise((resolve) => ws.once('open', resolve))
    const echoed = new Promise<Buffer>((resolve) => ws.once('message', (data: Buffer) => resolve(data)))
    ws.send(Buffer.from([1, 2, 3]))
    expect([...(await echoed)]).toEqual([1, 2, 3])
    ws.close(1000)
    await stream.done
  })

  it('answers upgrades on other paths with 404 and no socket', async () => {
    const ws = openClient(port, '/other')
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)))
    expect(status).toBe(404)
    expect(peer.accepted).toHaveLength(0)
  })

  it('closes a text frame with 1003 and delivers nothing', async () => {
    const delivered: Uint8Array[] = []
    peer.onAccept = async (stream) => {
      try {
        for await (const frame of stream) delivered.push(frame)
      } catch {
        // expected
      }
    }
    const ws = openClient(port)
    await new Promise((resolve) => ws.once('open', resolve))
    const closed = closeOf(ws)
    ws.send('hello')
    const close = await closed
    expect(close.code).toBe(CloseCode.UNSUPPORTED_DATA)
    expect(tokenOf(close.reason)).toBe('ERR_TEXT_FRAME')
    expect(delivered).toEqual([])
  })

  it('closes a frame over maxFrameBytes with 1009 and the ERR_FRAME_TOO_LARGE token', async () => {
    peer.onAccept = drain
    const ws = openClient(port)
    await new Promise((resolve) => ws.once('open', resolve))
    const closed = closeOf(ws)
    ws.send(Buffer.alloc(MAX_FRAME + 1))
    const close = await closed
    expect(close.code).toBe(CloseCode.MESSAGE_TOO_BIG)
    expect(close.reason).toBe(`ERR_FRAME_TOO_LARGE: frame over the limit of ${MAX_FRAME} bytes`)
  })

  it.each([
    ['an unmasked client frame', () => Buffer.from([0x82, 0x03, 1, 2, 3]), CloseCode.PROTOCOL_ERROR, CloseToken.WEBSOCKET_PROTOCOL],
    ['a reserved opcode', () => maskedFrame(0x3, Buffer.from([1])), CloseCode.PROTOCOL_ERROR, CloseToken.WEBSOCKET_PROTOCOL],
    ['invalid UTF-8 in a text frame', () => maskedFrame(0x1, Buffer.from([0xff, 0xfe])), CloseCode.INVALID_PAYLOAD, CloseToken.INVALID_UTF8],
    ['an oversized length header', () => Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]), CloseCode.MESSAGE_TOO_BIG, 'ERR_FRAME_TOO_LARGE'],
  ])('survives %s: the link is closed with a token, the server goes on serving', async (_name, frame, code, token) => {
    peer.onAccept = drain
    const raw = await rawUpgrade(port)
    raw.socket.write(frame())
    await raw.closed
    const close = serverClose(raw.received())
    expect(close?.code).toBe(code)
    expect(tokenOf(close?.reason ?? '')).toBe(token)
    // Still alive: HTTP answers and a new chat is accepted.
    expect((await rawRequest(port, { path: '/healthz' })).status).toBe(200)
    const ws = openClient(port)
    await new Promise((resolve) => ws.once('open', resolve))
    ws.close()
  })

  it('closes a half-sent upgrade after the headers timeout', async () => {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    const answer: Buffer[] = []
    socket.on('data', (chunk: Buffer) => answer.push(chunk))
    socket.write('GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n')
    await closed
    expect(Buffer.concat(answer).toString('latin1')).toMatch(/^HTTP\/1\.1 408 /)
    expect(peer.accepted).toHaveLength(0)
  })

  it('stop() closes chat clients with 1001 and refuses new connections', async () => {
    peer.onAccept = drain
    const clients = [openClient(port), openClient(port)]
    await Promise.all(clients.map((ws) => new Promise((resolve) => ws.once('open', resolve))))
    const closes = clients.map(closeOf)
    await server.stop()
    for (const close of await Promise.all(closes)) {
      expect(close.code).toBe(CloseCode.GOING_AWAY)
      expect(tokenOf(close.reason)).toBe(CloseToken.STOPPING)
    }
    await expect(rawRequest(port, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/)
    await server.stop() // idempotent
  })

  it('stop() does not wait for keep-alive HTTP connections', async () => {
    const { Agent, request } = await import('node:http')
    const agent = new Agent({ keepAlive: true })
    const idle = await new Promise<Socket>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(req.socket as Socket))
      })
      req.on('error', reject).end()
    })
    // The connection stays open for the next request (keep-alive) until the server ends it.
    expect(idle.destroyed).toBe(false)
    const serverEndedIt = new Promise<void>((resolve) => idle.once('close', () => resolve()))
    await server.stop()
    // stop() returned with the connection still idle, and it was the server that closed it.
    await serverEndedIt
    await expect(rawRequest(port, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/)
    agent.destroy()
  })

  it('start() rejects with EADDRINUSE when the port is taken', async () => {
    const other = createPeerServer({ peer, host: '127.0.0.1', port, limits: { ...DEFAULT_PEER_LIMITS }, log: silentLogger })
    await expect(other.start()).rejects.toMatchObject({ code: 'EADDRINUSE' })
    await other.stop()
  })
})
