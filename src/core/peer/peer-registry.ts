import { DuplicateLinkError, LimitExceededError, CloseCode } from '../errors.js'

/**
 * The registry of established links, keyed by peer ID (Fabric's handler map).
 *
 * Fabric refused a second handler for an ID with "duplicate handler" and left its stream open;
 * simultaneous dials A<->B hit that constantly (fabric#685, #699, #884, #1447, #1468). Here a
 * second link for an ID is settled by a deterministic tie-break that both ends compute alike:
 *
 * 1. Of two links, the one dialed by the peer with the smaller ID (by code unit order) survives.
 * 2. If both were dialed by the same peer, the newer replaces the older (a reconnect after the
 *    old link died unnoticed).
 *
 * Caps: `maxPeers` links in all, of which at most `maxInboundPeers` dialed by others and
 * `maxOutboundPeers` dialed by this peer, so strangers dialing in cannot take every slot and cut
 * a peer off from those it chose (an eclipse). Beyond a cap the new link is closed with 4005.
 *
 * The losing link is closed with 4001. A replaced link keeps its consensus queue until its own
 * receive loop ends, so everything it already queued still reaches the consenter.
 */
export interface RegistrableLink {
  readonly serial: number
  /** True when this peer dialed the link. */
  readonly initiated: boolean
  readonly remoteId: string
}

/** Who dialed a link, from this peer's point of view. */
function dialer(link: RegistrableLink, selfId: string): string {
  return link.initiated ? selfId : link.remoteId
}

/** True when `incoming` should replace `existing` as the link to the same remote peer. */
export function incomingLinkWins(existing: RegistrableLink, incoming: RegistrableLink, selfId: string): boolean {
  const preferredDialer = selfId < incoming.remoteId ? selfId : incoming.remoteId
  const existingPreferred = dialer(existing, selfId) === preferredDialer
  const incomingPreferred = dialer(incoming, selfId) === preferredDialer
  if (existingPreferred !== incomingPreferred) return incomingPreferred
  return true
}

/** Caps on registered links: all of them, and those each side opened. */
export interface RegistryCaps {
  maxPeers: number
  /** Links remote peers dialed; below maxPeers so accepted connections cannot take every slot. */
  maxInboundPeers: number
  /** Links this peer dialed. */
  maxOutboundPeers: number
}

export class PeerRegistry<L extends RegistrableLink> {
  readonly #selfId: string
  readonly #caps: RegistryCaps
  readonly #links = new Map<string, L>()
  #outbound = 0

  constructor(selfId: string, caps: RegistryCaps) {
    this.#selfId = selfId
    this.#caps = caps
  }

  get size(): number {
    return this.#links.size
  }

  /** Registered links this peer dialed. */
  get outbound(): number {
    return this.#outbound
  }

  /** Registered links remote peers dialed. */
  get inbound(): number {
    return this.#links.size - this.#outbound
  }

  get(peerId: string): L | undefined {
    return this.#links.get(peerId)
  }

  has(peerId: string): boolean {
    return this.#links.has(peerId)
  }

  values(): IterableIterator<L> {
    return this.#links.values()
  }

  /**
   * Registers an established link. Returns the link it replaced, if any (the caller closes it).
   * Throws DuplicateLinkError when the incoming link loses, LimitExceededError at the peer cap.
   */
  register(link: L): L | undefined {
    const existing = this.#links.get(link.remoteId)
    if (existing === link) return undefined
    if (existing === undefined) {
      if (this.#links.size >= this.#caps.maxPeers) {
        throw new LimitExceededError(`peer limit of ${this.#caps.maxPeers} reached`, CloseCode.TOO_MANY_PEERS)
      }
      this.#checkDirection(link)
      this.#set(link)
      return undefined
    }
    if (!incomingLinkWins(existing, link, this.#selfId)) throw new DuplicateLinkError(link.remoteId)
    // A replacement in the other direction must fit that direction's cap too.
    if (existing.initiated !== link.initiated) this.#checkDirection(link)
    this.#set(link)
    return existing
  }

  /** Removes the link if it is the registered one for its peer; returns whether it was. */
  deregister(link: L): boolean {
    if (this.#links.get(link.remoteId) !== link) return false
    this.#links.delete(link.remoteId)
    if (link.initiated) this.#outbound--
    return true
  }

  #checkDirection(link: L): void {
    if (link.initiated && this.outbound >= this.#caps.maxOutboundPeers) {
      throw new LimitExceededError(`outbound peer limit of ${this.#caps.maxOutboundPeers} reached`, CloseCode.TOO_MANY_PEERS)
    }
    if (!link.initiated && this.inbound >= this.#caps.maxInboundPeers) {
      throw new LimitExceededError(`inbound peer limit of ${this.#caps.maxInboundPeers} reached`, CloseCode.TOO_MANY_PEERS)
    }
  }

  #set(link: L): void {
    const previous = this.#links.get(link.remoteId)
    if (previous?.initiated) this.#outbound--
    this.#links.set(link.remoteId, link)
    if (link.initiated) this.#outbound++
  }
}
