import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import type { PeerInfo } from '../../src/core/consensus/consenter.js'
import { DEFAULT_PEER_LIMITS } from '../../src/core/peer/limits.js'
import { ManualClock } from '../../src/core/util/clock.js'
import { silentLogger } from '../../src/core/util/logger.js'
import type { ConnectionLimits } from '../../src/node/connection-limiter.js'
import { createPeerServer, type PeerServer } from '../../src/node/server.js'
import { createFakePeer } from './fake-peer.js'

interface Accepted {
  stream: ChatStream
  establish: () => void
}

let server: PeerServer | undefined
const clients: WebSocket[] = []

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate()
  await server?.stop()
  server = undefined
})

/** A server in front of a fake peer that records each accepted stream with its onEstablished hook. */
async function start(limits: Partial<ConnectionLimits>, clock = new ManualClock()) {
  const peer = createFakePeer()
  const accepted: Accepted[] = []
  peer.acceptStream = async (stream, options) => {
    const entry = { stream, establish: () => options?.onEstablished?.({ id: `p${accepted.length}`, address: '', role: 'validator' } satisfies PeerInfo) }
    accepted.push(entry)
    try {
      for await (const _frame of stream) {
        // held open until the client goes
      }
    } catch {
      // the client going away abruptly is what some tests do
    }
  }
  server = createPeerServer({ peer, host: '127.0.0.1', port: 0, limits: DEFAULT_PEER_LIMITS, log: silentLogger, connectionLimits: limits, now: () => clock.now() })
  const { port } = await server.start()
  return { port, accepted, clock }
}

/** Opens a client; resolves 'open' or the HTTP status that refused the upgrade (with its Retry-After). */
function connect(port: number): Promise<{ ws: WebSocket; result: 'open' | number; retryAfter?: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { perMessageDeflate: false })
  clients.push(ws)
  ws.on('error', () => {})
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ ws, result: 'open' }))
    ws.once('unexpected-response', (_req, res) => {
      const retryAfter = res.headers['retry-after']
      resolve({ ws, result: res.statusCode ?? 0, ...(retryAfter === undefined ? {} : { retryAfter: String(retryAfter) }) })
      res.resume()
    })
  })
}

describe('createPeerServer admission limits', () => {
  it('refuses new connections over the per-address rate with 429 before any WebSocket exists', async () => {
    const { port, accepted, clock } = await start({ maxConnectionsPerSecond: 3, maxPendingConnections: 100 })
    const results = []
    for (let i = 0; i < 4; i++) results.push(await connect(port))
    expect(results.map((r) => r.result)).toEqual(['open', 'open', 'open', 429])
    expect(results[3]!.retryAfter).toBe('1')
    await expect.poll(() => accepted.length, { timeout: 2000 }).toBe(3)
    expect(server!.connectionStats().refusedRate).toBe(1)
    clock.advance(1000)
    expect((await connect(port)).result).toBe('open')
  })

  it('refuses upgrades with 503 while the pending cap is reached, and frees a slot on HELLO or close', async () => {
    const { port, accepted } = await start({ maxPendingConnections: 2, maxConnectionsPerSecond: 100 })
    // The client's 'open' can come before the server's callback runs, so wait on the server side.
    const waitAccepted = (n: number) => expect.poll(() => accepted.length, { timeout: 2000 }).toBe(n)
    const first = await connect(port)
    await waitAccepted(1)
    const second = await connect(port)
    await waitAccepted(2)
    expect([first.result, second.result]).toEqual(['open', 'open'])
    expect(server!.connectionStats().pending).toBe(2)

    const refused = await connect(port)
    expect(refused.result).toBe(503)
    expect(refused.retryAfter).toBe('1')
    expect(accepted).toHaveLength(2)

    // The first completes HELLO: it no longer counts, and a third is admitted.
    accepted[0]!.establish()
    expect(server!.connectionStats().pending).toBe(1)
    expect((await connect(port)).result).toBe('open')
    await waitAccepted(3)
    expect((await connect(port)).result).toBe(503)

    // The second never says HELLO and goes away: its slot is freed when its socket closes.
    const freed = accepted[1]!.stream.done.then(() => undefined, () => undefined)
    second.ws.terminate()
    await freed
    await expect.poll(() => server!.connectionStats().pending, { timeout: 2000 }).toBe(1)
    expect((await connect(port)).result).toBe('open')
    // An established link closing later does not free a slot twice.
    first.ws.terminate()
    await accepted[0]!.stream.done.catch(() => undefined)
    expect((await connect(port)).result).toBe(503)
    expect(server!.connectionStats().refusedPending).toBe(3)
  })
})
