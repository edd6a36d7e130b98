import { createMemoryChatPair, type MemoryChatStream } from '../../src/core/chat/memory-chat-stream.js'
import { TransportError } from '../../src/core/errors.js'
import { createPeer } from '../../src/core/peer/peer.js'
import type { ChatConnector, Peer, PeerConfig } from '../../src/core/peer/peer-types.js'

/**
 * Peers in one process, linked by in-memory chat streams: `ws://mem/<id>/chat` addresses route to
 * the peer with that ID. Links can be broken to simulate failures.
 */
export class MemoryNetwork {
  readonly peers = new Map<string, Peer>()
  readonly links: { a: MemoryChatStream; b: MemoryChatStream; from: string; to: string }[] = []
  /** Addresses that refuse connections (peer down). */
  readonly down = new Set<string>()

  static address(id: string): string {
    return `ws://mem/${id}/chat`
  }

  readonly connect: ChatConnector = async (address) => {
    const target = [...this.peers.values()].find((peer) => MemoryNetwork.address(peer.id) === address)
    if (target === undefined || this.down.has(address)) throw new TransportError(`connection refused: ${address}`)
    const [a, b] = createMemoryChatPair({ a: 'dialer', b: address })
    this.links.push({ a, b, from: '?', to: target.id })
    // The dialing side learns how the link ended from its own stream, as over a real socket.
    target.acceptStream(b).catch(() => {})
    return a
  }

  add(config: Omit<PeerConfig, 'connect' | 'address'>): Peer {
    const peer = createPeer({ ...config, address: MemoryNetwork.address(config.id), connect: this.connect })
    this.peers.set(config.id, peer)
    return peer
  }

  /** Breaks every live link touching a peer, as a dropped connection would. */
  breakLinksOf(id: string): void {
    for (const link of this.links) if (link.to === id) link.a.fail('link broken by test')
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.peers.values()].map((peer) => peer.stop()))
  }
}
