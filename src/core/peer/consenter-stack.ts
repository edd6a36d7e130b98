/**
 * The Stack a peer lends its consenter (consensus/consenter.ts): everything a consensus plugin may
 * do to the network and the chain, and nothing else. Sends go to the peer's broadcast/unicast
 * (registered links only); network info and handles list the registered links; `sign` uses this
 * peer's key; `verify` checks a peer's signature against the key its handshake proved, or, for a
 * member not linked now, the membership's key; state transfer goes through the sync hooks the
 * peer passes in (the heights peers claim, block ranges fetched from one of them).
 *
 * In: the peer's parts, at start (the key pair exists by then). Out: the Stack object. It owns no
 * state: every call reads the registry as it is at that moment.
 *
 *   const consenter = createConsenter(name, createConsenterStack({ self, linked: registry, keyPair, ... }), options)
 */
import type { BroadcastTarget, NetworkInfo, Stack, SyncHooks } from '../consensus/consenter.js'
import type { ConsensusLog } from '../consensus/consensus-log.js'
import type { Link } from '../handlers/link.js'
import { verifySignature, type KeyPair } from '../identity/key-pair.js'
import type { Membership } from '../identity/membership.js'
import type { Ledger } from '../ledger/ledger.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import type { PeerEndpoint } from '../wire/payload-types.js'
import { infoOf, linkedPeerInfos } from './peer-info.js'

export interface ConsenterStackOptions {
  /** This peer's endpoint (its key id set). */
  self: PeerEndpoint
  /** The registered links (the peer's PeerRegistry). */
  linked: { get(peerId: string): Link | undefined; values(): Iterable<Link> }
  broadcast(msg: Envelope, target?: BroadcastTarget): number
  unicast(msg: Envelope, peerId: string): void
  keyPair: KeyPair
  /** The validator set bound to keys; undefined in open mode. */
  membership: Membership | undefined
  ledger: Ledger
  consensusLog: ConsensusLog | undefined
  sync: SyncHooks
  clock: Clock
  log: Logger
}

export function createConsenterStack(o: ConsenterStackOptions): Stack {
  return {
    broadcast: (msg, target) => o.broadcast(msg, target),
    unicast: (msg, peerId) => o.unicast(msg, peerId),
    getNetworkInfo: () => networkInfo(o.self, o.linked.values()),
    getNetworkHandles: () => [...o.linked.values()].map((link) => link.remote!),
    sign: (data) => o.keyPair.sign(data),
    // A peer's key is the one its handshake proved (or, for a member not linked now, the membership's).
    verify: async (peerId, signature, data) => {
      const key = o.linked.get(peerId)?.remotePublicKey ?? o.membership?.get(peerId)?.publicKey
      return key === undefined ? false : verifySignature(key, data, signature)
    },
    ledger: o.ledger,
    ...(o.consensusLog === undefined ? {} : { consensusLog: o.consensusLog }),
    sync: o.sync,
    clock: o.clock,
    log: o.log,
  }
}

function networkInfo(self: PeerEndpoint, links: Iterable<Link>): NetworkInfo {
  const peers = linkedPeerInfos(links)
  return { self: infoOf(self), validators: peers.filter((p) => p.role === 'validator'), peers }
}
