import { describe, expect, it, vi } from 'vitest'
import { AbortError, PeerNotFoundError, TransportError } from '../../../src/core/errors.js'
import type { Link } from '../../../src/core/handlers/link.js'
import type { Ledger } from '../../../src/core/ledger/ledger.js'
import { createMemoryLedger } from '../../../src/core/ledger/memory-ledger.js'
import { BlockSync, type BlockSyncOptions } from '../../../src/core/peer/block-sync.js'
import { generateKeyPair } from '../../../src/core/identity/key-pair.js'
import { validateMembership } from '../../../src/core/identity/membership.js'
import { toHex } from '../../../src/core/util/bytes.js'
import { ManualClock } from '../../../src/core/util/clock.js'
import type { Envelope } from '../../../src/core/wire/envelope.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import { decodePayload } from '../../../src/core/wire/payloads.js'
import { EndpointType, type PeerRole } from '../../../src/core/wire/payload-types.js'
import { recordingLogger, type LogRecord } from '../../support/fake-network.js'
import { linkTo } from '../../support/fake-link.js'
import { sourceChain } from '../../support/chains.js'

const validator = linkTo({ id: 'vp0', address: 'ws://vp0/chat', type: EndpointType.VALIDATOR })
const follower = linkTo({ id: 'tab', address: '', type: EndpointType.NON_VALIDATOR })

/**
 * A BlockSync over linked `links`; its requests go to `requests`, and `answer` answers one from
 * `source` the way the peer handler does (resolveRequest).
 */
function syncOf(role: PeerRole, links: Link[], source: Ledger, extra: Partial<BlockSyncOptions> = {}) {
  const ledger = createMemoryLedger()
  const logs: LogRecord[] = []
  const requests: { to: string; envelope: Envelope }[] = []
  const linked = new Map(links.map((link) => [link.remoteId, link]))
  const sync = new BlockSync({
    role,
    ledger,
    log: recordingLogger(logs),
    clock: new ManualClock(),
    syncTimeoutMs: 1000,
    linked: { values: () => linked.values(), get: (id: string) => linked.get(id) },
    unicast: (envelope, peerId) => {
      if (!linked.has(peerId)) throw new PeerNotFoundError(peerId)
      requests.push({ to: peerId, envelope })
    },
    ...extra,
  })
  const answer = (index: number): void => {
    const { to, envelope } = requests[index]!
    const { requestId, start, end } = decodePayload(MessageType.SYNC_GET_BLOCKS, envelope.payload)
    sync.resolveRequest(requestId, MessageType.SYNC_BLOCKS, { requestId, blocks: source.getBlocks(start, end) }, linked.get(to)!)
  }
  return { ledger, logs, requests, sync, answer }
}

describe('block sync', () => {
  it('a non-validator catches up from a validator that links with a longer chain', async () => {
    const source = sourceChain(3)
    const s = syncOf('non-validator', [validator], source)
    s.sync.linkRegistered('vp0', 4)
    s.sync.catchUpFrom(validator, 4)
    await vi.waitFor(() => expect(s.requests).toHaveLength(1), { timeout: 1000, interval: 1 })
    expect(s.requests[0]!.to).toBe('vp0')
    s.answer(0)
    await vi.waitFor(() => expect(s.ledger.height()).toBe(4), { timeout: 1000, interval: 1 })
    expect(s.sync.stackSync.peerHeights().get('vp0')).toBe(4)
  })

  it('a validator neither catches up nor follows by itself: its consenter does', () => {
    const source = sourceChain(3)
    const s = syncOf('validator', [validator], source)
    s.sync.catchUpFrom(validator, 4)
    s.sync.blockAdded(source.getBlock(1)!, validator)
    s.sync.recordHeight('vp0', 4)
    s.sync.retryCatchUp()
    expect(s.requests).toEqual([])
    expect(s.ledger.height()).toBe(1)
  })

  it('a non-validator does not catch up from a follower, and retries from the validator claiming the most', async () => {
    const source = sourceChain(2)
    const s = syncOf('non-validator', [follower, validator], source)
    s.sync.catchUpFrom(follower, 3)
    s.sync.recordHeight('tab', 3)
    expect(s.requests).toEqual([])
    s.sync.recordHeight('vp0', 3)
    s.sync.retryCatchUp()
    await vi.waitFor(() => expect(s.requests.map((r) => r.to)).toEqual(['vp0']), { timeout: 1000, interval: 1 })
  })

  it('keeps heights peers claim, ignoring ones without an ID or not a safe integer, and forgets a peer whose link ended', () => {
    const s = syncOf('validator', [validator], sourceChain(0))
    s.sync.linkRegistered('vp0', 2)
    s.sync.recordHeight('vp0', 5)
    s.sync.recordHeight('', 9)
    s.sync.recordHeight('vp1', Number.NaN)
    expect([...s.sync.stackSync.peerHeights()]).toEqual([['vp0', 5]])
    s.sync.linkEnded('vp0')
    expect(s.sync.stackSync.peerHeights().size).toBe(0)
  })

  it('drops an answer nobody asked that peer for, fails a request when its link ends, and every one at close', async () => {
    const source = sourceChain(2)
    const s = syncOf('validator', [validator, linkTo({ id: 'vp1', address: 'ws://vp1/chat', type: EndpointType.VALIDATOR })], source)
    s.sync.resolveRequest(7, MessageType.SYNC_BLOCKS, { requestId: 7, blocks: [] }, validator)
    expect(s.logs.filter((r) => r.msg === 'unsolicited sync answer dropped').map((r) => r.fields)).toEqual([{ remotePeer: 'vp0', type: 'SYNC_BLOCKS', requestId: 7 }])
    const fromVp0 = s.sync.stackSync.fetchBlocks('vp0', 1, 2)
    const fromVp1 = s.sync.stackSync.fetchBlocks('vp1', 1, 2)
    s.sync.linkEnded('vp0')
    await expect(fromVp0).rejects.toThrow(TransportError)
    s.sync.close()
    await expect(fromVp1).rejects.toThrow(AbortError)
  })

  it('verifies at most maxProofsVerifying proof messages at once, or 4 per member when that is more', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => generateKeyPair()))
    const membership = validateMembership({ validators: keys.map((k, i) => ({ id: `vp${i}`, publicKey: toHex(k.publicKey) })) })
    const proof = (n: number) => ({ number: n, blockHash: new Uint8Array(32).fill(n), signatures: [{ signer: 'vp1', signature: new Uint8Array(64).fill(n) }] })
    for (const [maxProofsVerifying, allowed] of [
      [40, 40],
      [10, 32],
    ] as const) {
      const s = syncOf('non-validator', [validator], sourceChain(1), { membership, limits: { maxProofsVerifying } })
      for (let n = 1; n <= 50; n++) s.sync.commitProof(proof(n), validator)
      expect(s.sync.followerStatus().droppedProofs).toBe(50 - allowed)
      await vi.waitFor(() => expect(s.sync.followerStatus().refusedSignatures).toBe(allowed), { timeout: 5000, interval: 5 })
    }
  })
})
