/**
 * A follower that stops reading for a while is served, not dropped into a loop (issue #16): while
 * its link's backlog is past followerBacklogBytes the validator skips its block announcements
 * instead of queueing them toward the send-buffer cap (4002); once it reads again it pages the
 * blocks it missed, on the same link.
 */
import { afterEach, expect, it, vi } from 'vitest'
import type { ChatStream, ChatStreamEnd } from '../../../src/core/chat/chat-stream.js'
import { createMemoryChatPair, type MemoryChatStream } from '../../../src/core/chat/memory-chat-stream.js'
import { StreamClosedError } from '../../../src/core/errors.js'
import { createPeer } from '../../../src/core/peer/peer.js'
import type { ChatConnector, Peer } from '../../../src/core/peer/peer-types.js'
import { MemoryNetwork } from '../../support/memory-network.js'

/**
 * The validator's end of its link to the follower. While held, what it sends waits here and counts
 * as the transport's bufferedAmount, as a socket's unsent bytes do when the remote stops reading.
 */
class HeldStream implements ChatStream {
  readonly #inner: MemoryChatStream
  #held: Uint8Array[] | undefined
  #heldBytes = 0

  constructor(inner: MemoryChatStream) {
    this.#inner = inner
  }

  get remote(): string {
    return this.#inner.remote
  }

  get done(): Promise<ChatStreamEnd> {
    return this.#inner.done
  }

  get closed(): boolean {
    return this.#inner.closed
  }

  get bufferedAmount(): number {
    return this.#heldBytes
  }

  send(frame: Uint8Array): void {
    if (this.#inner.closed) throw new StreamClosedError()
    if (this.#held === undefined) return this.#inner.send(frame)
    this.#held.push(frame.slice())
    this.#heldBytes += frame.byteLength
  }

  close(code?: number, reason?: string): void {
    this.#inner.close(code, reason)
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inner[Symbol.asyncIterator]()
  }

  hold(): void {
    this.#held = []
  }

  /** Delivers what waited, in order, and sends straight through again. */
  release(): void {
    const held = this.#held ?? []
    this.#held = undefined
    this.#heldBytes = 0
    for (const frame of held) if (!this.#inner.closed) this.#inner.send(frame)
  }
}

const peers: Peer[] = []
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.stop()))
})

function nextBlock(peer: Peer): Promise<void> {
  return new Promise((resolve) => {
    const off = peer.on('block-committed', () => {
      off()
      resolve()
    })
  })
}

it('a follower that stops reading has announcements skipped, keeps its link, and catches up afterwards', async () => {
  let toFollower: HeldStream | undefined
  const vp0 = createPeer({
    id: 'vp0',
    role: 'validator',
    address: MemoryNetwork.address('vp0'),
    consensus: 'noops',
    // Each block is cut by the block timer, so every block is its own task and outboxes flush between them, as in a real peer.
    consensusOptions: { blockWaitMs: 5 },
    limits: { followerBacklogBytes: 4096, discoveryPeriodMs: 60_000 },
  })
  const connect: ChatConnector = async (address) => {
    const [mine, theirs] = createMemoryChatPair({ a: 'tab-1', b: address })
    toFollower = new HeldStream(theirs)
    void vp0.acceptStream(toFollower).catch(() => undefined)
    return mine
  }
  const tab = createPeer({
    id: 'tab-1',
    role: 'non-validator',
    address: '',
    connect,
    consensus: 'noops',
    bootstrap: [MemoryNetwork.address('vp0')],
    limits: { discoveryPeriodMs: 100 },

  })
  peers.push(vp0, tab)
  const disconnects: unknown[] = []
  tab.on('peer-disconnected', (e) => disconnects.push(e))
  await vp0.start()
  await tab.start()
  await vi.waitFor(() => expect(vp0.status().peers.map((p) => p.id)).toEqual(['tab-1']), { timeout: 5000, interval: 5 })

  const warm = nextBlock(vp0)
  await vp0.submit('warm=up')
  await warm
  await vi.waitFor(() => expect(tab.status().chain).toEqual(vp0.status().chain), { timeout: 5000, interval: 5 })

  // The follower stops reading: 40 blocks of about 1 KiB are committed meanwhile.
  toFollower!.hold()
  for (let i = 0; i < 40; i++) {
    const committed = nextBlock(vp0)
    await vp0.submit(`k${i}=${'x'.repeat(1000)}`)
    await committed
  }
  const skipped = vp0.metrics().announcementsSkipped
  expect(skipped).toBeGreaterThan(0)
  // What waits for it stays near the limit, far below the send-buffer cap.
  expect(toFollower!.bufferedAmount).toBeLessThan(4096 + 8192)
  expect(tab.status().chain.height).toBeLessThan(vp0.status().chain.height)

  // It reads again; the next block announced shows it the gap, which it pages on the same link.
  toFollower!.release()
  const last = nextBlock(vp0)
  await vp0.submit('after=resume')
  await last
  await vi.waitFor(() => expect(tab.status().chain).toEqual(vp0.status().chain), { timeout: 10_000, interval: 10 })
  expect(tab.status().chain.height).toBe(43)
  expect(toFollower!.closed).toBe(false)
  expect(disconnects).toEqual([])
  expect(vp0.status().peers.map((p) => p.id)).toEqual(['tab-1'])
})
