/**
 * Identity end to end over real sockets: two Node peers with keys in data directories and a
 * closed membership link over wss:// (a private CA), commit a transaction, and refuse the
 * catalogue's hostile handshakes (hostile-inputs.md 12-14) with 1008, registering nothing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WebSocket } from 'ws'
import { RawLink } from '../support/raw-link.js'
import { startNodePeer, type NodePeer } from '../../src/node/index.js'
import { resolveConfig } from '../../src/node/config.js'
import { loadOrCreateKey } from '../../src/node/key-store.js'
import { formatMembership } from '../../src/core/identity/membership.js'
import { generateKeyPair } from '../../src/core/identity/key-pair.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { openWebSocketChat, type WebSocketLike } from '../../src/core/chat/websocket-chat-stream.js'
import type { ChatStream } from '../../src/core/chat/chat-stream.js'
import { MessageType } from '../../src/core/wire/message-type.js'

const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url))
const CERT = join(TLS_DIR, 'cert.pem')
const KEY = join(TLS_DIR, 'key.pem')
const CA = readFileSync(CERT, 'utf8')
const COMMIT_TIMEOUT_MS = 10_000

const root = mkdtempSync(join(tmpdir(), 'wspeer-identity-'))
let vp0: NodePeer
let vp1: NodePeer

function configFor(id: string, extra: string[]) {
  return resolveConfig({
    argv: ['--id', id, '--port', '0', '--data-dir', join(root, id), '--membership', join(root, 'membership.json'), '--tls-cert', CERT, '--tls-key', KEY, '--tls-ca', CERT, ...extra],
    env: {},
  })
}

function dialStream(address: string): Promise<ChatStream> {
  return openWebSocketChat(() => new WebSocket(address, { perMessageDeflate: false, ca: CA }) as unknown as WebSocketLike, {
    remote: address,
    maxFrameBytes: 1024 * 1024,
    timeoutMs: 5000,
  })
}

beforeAll(async () => {
  // Keys first (as `wspeer keygen` makes them), then the membership binding them.
  const keys = await Promise.all(['vp0', 'vp1'].map(async (id) => ({ id, publicKey: (await loadOrCreateKey(join(root, id))).keyPair.publicKey })))
  writeFileSync(join(root, 'membership.json'), formatMembership(keys))
  vp0 = await startNodePeer(configFor('vp0', []), { log: silentLogger })
  vp1 = await startNodePeer(configFor('vp1', ['--peers', vp0.address]), { log: silentLogger })
})

afterAll(async () => {
  await vp1?.stop()
  await vp0?.stop()
})

describe('a closed network over wss://', () => {
  it('links members by their proven keys and commits a transaction on both', async () => {
    expect(vp0.address).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/chat$/)
    await vi.waitFor(() => expect(vp0.peer.status().peers.map((p) => p.id)).toEqual(['vp1']), { timeout: 5000, interval: 20 })
    const s0 = vp0.peer.status()
    const s1 = vp1.peer.status()
    expect(s0.identity).toMatchObject({ mode: 'closed', members: 2 })
    expect(s0.peers[0]!.keyId).toBe(s1.identity.keyId)
    expect(s1.peers[0]!.keyId).toBe(s0.identity.keyId)
    // The key file is owner-only in an owner-only directory.
    expect(statSync(join(root, 'vp0', 'peer.key')).mode & 0o777).toBe(0o600)
    expect(statSync(join(root, 'vp0')).mode & 0o777).toBe(0o700)

    await vp1.peer.submit('over tls')
    await vi.waitFor(
      () => {
        const heads = [vp0, vp1].map((n) => n.peer.status().chain)
        expect(heads[0]!.height).toBeGreaterThan(1)
        expect(heads[1]).toEqual(heads[0])
      },
      { timeout: COMMIT_TIMEOUT_MS, interval: 20 },
    )
  })

  it('keeps a restarted peer\'s key: the same key id after stop and start', async () => {
    const keyId = vp1.peer.status().identity.keyId
    await vp1.stop()
    vp1 = await startNodePeer(configFor('vp1', ['--peers', vp0.address]), { log: silentLogger })
    expect(vp1.peer.status().identity.keyId).toBe(keyId)
    await vi.waitFor(() => expect(vp0.peer.status().peers.map((p) => p.keyId)).toEqual([keyId]), { timeout: 5000, interval: 20 })
  })
})

describe('hostile handshakes against a Node peer (hostile-inputs.md 12-14)', () => {
  it('12. a connection that never completes the handshake is closed with 1008 after the timeout', async () => {
    const node = await startNodePeer(resolveConfig({ argv: ['--port', '0', '--id', 'slow', '--handshake-timeout-ms', '200'], env: {} }), { log: silentLogger })
    try {
      const silent = new RawLink(await dialStream(node.address))
      const end = await silent.stream.done
      expect(end.code).toBe(1008)
      expect(node.peer.status().peers).toEqual([])
    } finally {
      await node.stop()
    }
  })

  it('13. a step 3 that signs another session\'s challenge is refused with 1008', async () => {
    const key = await generateKeyPair()
    const a = new RawLink(await dialStream(vp0.address))
    const b = new RawLink(await dialStream(vp0.address))
    const [, stepB] = await Promise.all([a, b].map((raw) => raw.confirmUnsent('client', 'non-validator', { keyPair: key })))
    a.send(stepB!)
    expect(await a.nextResponse()).toMatchObject({ code: 'ERR_HANDSHAKE', inReplyTo: MessageType.DISC_HELLO })
    expect((await a.stream.done).code).toBe(1008)
    expect(vp0.peer.status().peers.map((p) => p.id)).toEqual(['vp1'])
  })

  it('14. a member ID claimed with another key is refused with 1008; the member\'s own link stays', async () => {
    const impostor = new RawLink(await dialStream(vp0.address))
    await expect(impostor.hello('vp1', 'validator')).rejects.toThrow()
    expect((await impostor.stream.done).code).toBe(1008)
    expect(vp0.peer.status().peers.map((p) => p.id)).toEqual(['vp1'])
    expect(vp0.peer.status().peers[0]!.keyId).toBe(vp1.peer.status().identity.keyId)
  })

  it('a non-member may join as a non-validator but its CONSENSUS is refused', async () => {
    const client = await RawLink.established(await dialStream(vp0.address), 'client', 'non-validator')
    client.send({ type: MessageType.CONSENSUS, payload: new Uint8Array([1]) })
    expect(await client.nextResponse()).toMatchObject({ code: 'ERR_NOT_A_MEMBER' })
    expect(client.stream.closed).toBe(false)
  })
})
