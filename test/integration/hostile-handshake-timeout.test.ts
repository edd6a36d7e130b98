import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { WebSocket } from 'ws'
import { createPeer } from '../../src/core/peer/peer.js'
import type { Peer } from '../../src/core/peer/peer-types.js'
import { HandshakeTimeoutError } from '../../src/core/errors.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { resolveConfig } from '../../src/node/config.js'
import { startNodePeer, type NodePeer } from '../../src/node/index.js'
import { createPeerServer, CHAT_PATH, HTTP_CONNECTIONS_CHECK_INTERVAL_MS, type PeerServer } from '../../src/node/server.js'
import { createNodeConnector } from '../../src/node/ws-connector.js'

/**
 * Hostile-inputs catalogue case 12 (../shared/reference/hostile-inputs.md) against real Node peers
 * on loopback: a WebSocket that opens /chat and never completes the handshake is closed once the
 * handshake timeout passes, with the code the handshake's timeout error maps to, and nothing is
 * registered; a TCP connection that sends half an HTTP upgrade is closed by the server once the
 * headers timeout passes, and the server goes on accepting peers.
 */

/** Short limits so the test takes well under a second per case. */
const HANDSHAKE_TIMEOUT_MS = 300
const HEADERS_TIMEOUT_MS = 300
/** How long a test waits for an event before failing instead of hanging. */
const EVENT_TIMEOUT_MS = 5000

/** Rejects after `ms` unless `promise` settled first; never leaves a timer running. */
async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once `peer` has `remoteId` registered (checked now, then on each peer-connected). */
function connectedTo(peer: Peer, remoteId: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const off = peer.on('peer-connected', ({ id }) => {
      if (id !== remoteId) return
      off()
      resolve()
    })
    if (peer.status().peers.some((p) => p.id === remoteId)) {
      off()
      resolve()
    }
  })
}

/**
 * A Node peer wired like startNodePeer (peer, server, `ws` connector) but with a short HTTP headers
 * timeout, which startNodePeer does not take. The port is known before the peer exists: the
 * server binds first and the peer's address is built from the bound port.
 */
async function startPeerWithHeadersTimeout(id: string): Promise<{ peer: Peer; server: PeerServer; port: number; address: string; stop(): Promise<void> }> {
  const config = resolveConfig({ argv: ['--id', id, '--port', '0', '--handshake-timeout-ms', String(HANDSHAKE_TIMEOUT_MS)], env: {} })
  let peer: Peer | undefined
  // The server only needs the peer once a request arrives, which cannot happen before start() resolves.
  const forward = new Proxy({} as Peer, {
    get: (_, key) => {
      const value = Reflect.get(peer!, key) as unknown
      // Peer methods use private fields, so they must run with the peer itself as `this`.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(peer) : value
    },
  })
  const server = createPeerServer({
    peer: forward,
    host: '127.0.0.1',
    port: 0,
    limits: config.limits,
    log: silentLogger,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
  })
  const { port } = await server.start()
  const address = `ws://127.0.0.1:${port}${CHAT_PATH}`
  peer = createPeer({ id, role: 'validator', address, consensus: 'noops', limits: config.limits, connect: createNodeConnector(config.limits), log: silentLogger })
  await peer.start()
  const started = peer
  return {
    peer: started,
    server,
    port,
    address,
    stop: async () => {
      try {
        await started.stop()
      } finally {
        await server.stop()
      }
    },
  }
}

describe('case 12: a WebSocket that never completes the handshake', () => {
  let node: NodePeer

  beforeAll(async () => {
    const config = resolveConfig({ argv: ['--id', 'vp0', '--port', '0', '--handshake-timeout-ms', String(HANDSHAKE_TIMEOUT_MS)], env: {} })
    expect(config.limits.handshakeTimeoutMs).toBe(HANDSHAKE_TIMEOUT_MS)
    node = await startNodePeer(config, { log: silentLogger })
  })

  afterAll(async () => {
    await node?.stop()
  })

  it('is closed after the handshake timeout with the timeout error code, and nothing is registered', async () => {
    const ws = new WebSocket(node.address, { perMessageDeflate: false })
    ws.on('error', () => {})
    const closed = new Promise<{ code: number; at: number }>((resolve) => ws.once('close', (code: number) => resolve({ code, at: performance.now() })))
    await within('the upgrade', EVENT_TIMEOUT_MS, once(ws, 'open'))
    const openedAt = performance.now()
    // Open, upgraded, and silent: no HELLO is ever sent.
    expect(node.server.connectionStats().pending).toBe(1)

    const { code, at } = await within('the peer to close the silent socket', EVENT_TIMEOUT_MS, closed)
    expect(code).toBe(new HandshakeTimeoutError(HANDSHAKE_TIMEOUT_MS).closeCode)
    // The timer starts when the server accepts the socket, a moment before the client sees 'open'.
    expect(at - openedAt).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS * 0.8)
    // Never registered (the server's own socket may close a moment after ours, so its counters are not checked here).
    expect(node.peer.status().peers).toEqual([])
  })
})

describe('case 12: a half-sent HTTP upgrade', () => {
  let node: Awaited<ReturnType<typeof startPeerWithHeadersTimeout>>
  let other: NodePeer | undefined

  beforeAll(async () => {
    node = await startPeerWithHeadersTimeout('vp0')
  })

  afterAll(async () => {
    await other?.stop()
    await node?.stop()
  })

  it('is closed by the server within the headers timeout; the server then still accepts a peer', async () => {
    const socket: Socket = connect(node.port, '127.0.0.1')
    socket.on('error', () => {})
    const received: Buffer[] = []
    socket.on('data', (chunk: Buffer) => received.push(chunk))
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())))
    await within('the TCP connection', EVENT_TIMEOUT_MS, once(socket, 'connect'))
    const sentAt = performance.now()
    // Request line and some headers, but never the blank line that ends them.
    socket.write(
      `GET ${CHAT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n`,
    )

    const at = await within('the server to close the half-sent upgrade', EVENT_TIMEOUT_MS, closed)
    // Node checks the timeout every min(HTTP_CONNECTIONS_CHECK_INTERVAL_MS, headersTimeout) ms, so it fires up to one interval late.
    expect(at - sentAt).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS * 0.8)
    expect(at - sentAt).toBeLessThan(HEADERS_TIMEOUT_MS + Math.min(HTTP_CONNECTIONS_CHECK_INTERVAL_MS, HEADERS_TIMEOUT_MS) + 1000)
    // Closed by the headers timeout (Node answers it with 408), never upgraded.
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 408 /)
    expect(node.peer.status().peers).toEqual([])
    expect(node.server.connectionStats().pending).toBe(0)

    // A normal peer dials it afterwards and both sides register the link.
    const registered = connectedTo(node.peer, 'vp1')
    other = await startNodePeer(resolveConfig({ argv: ['--id', 'vp1', '--port', '0', '--peers', node.address], env: {} }), { log: silentLogger })
    await within('vp0 to register vp1', EVENT_TIMEOUT_MS, registered)
    await within('vp1 to register vp0', EVENT_TIMEOUT_MS, connectedTo(other.peer, 'vp0'))
    expect(node.peer.status().peers.map((p) => p.id)).toEqual(['vp1'])
  })
})
