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
 * a peer off from those it chose (an eclipse). Of all links, at most `maxFollowerLinks` go to
 * followers (remotes that are not validators: tabs, non-validating peers). Beyond a cap the new
 * link is closed with 4005, with one exception: a validator's link is never locked out by
 * followers. When a cap is full and a follower holds a slot the validator could take, the
 * longest-registered such follower is evicted (the caller closes it with 4005) to make room, so
 * the validators' links to each other survive any number of tabs.
 *
 * The losing link is closed with 4001. A replaced link keeps its consensus queue until its own
 * receive loop ends, so everything it already queued still reaches the consenter.
 */
export interface RegistrableLink {
  readonly serial: number
  /** True when this peer dialed the link. */
  readonly initiated: boolean
  readonly remoteId: string
  /** True when the remote announced itself a validator (and, in closed mode, the membership agreed). */
  readonly remoteIsValidator: boolean
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
  /** Links to followers (non-validators), both directions together. */
  maxFollowerLinks: number
}

/** What a registration displaced: a link it replaced (same remote), or a follower evicted for a validator. */
export interface Displaced<L> {
  replaced?: L
  evicted?: L
}

export class PeerRegistry<L extends RegistrableLink> {
  readonly #selfId: string
  readonly #caps: RegistryCaps
  readonly #links = new Map<string, L>()
  #outbound = 0
  #followers = 0

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

  /** Registered links to followers (non-validators). */
  get followers(): number {
    return this.#followers
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
   * Registers an established link. Returns what it displaced: the link it replaced (same remote;
   * the caller closes it with 4001) or a follower evicted to make room for a validator (the caller
   * closes it with 4005). Throws DuplicateLinkError when the incoming link loses,
   * LimitExceededError at a cap no follower can be evicted from.
   */
  register(link: L): Displaced<L> {
    const existing = this.#links.get(link.remoteId)
    if (existing === link) return {}
    if (existing !== undefined) {
      if (!incomingLinkWins(existing, link, this.#selfId)) throw new DuplicateLinkError(link.remoteId)
      // A replacement in the other direction must fit that direction's cap too.
      const evicted = existing.initiated !== link.initiated ? this.#makeRoom(link, existing) : undefined
      this.#set(link)
      return { replaced: existing, ...(evicted === undefined ? {} : { evicted }) }
    }
    if (!link.remoteIsValidator && this.#followers >= this.#caps.maxFollowerLinks) {
      throw new LimitExceededError(`follower link limit of ${this.#caps.maxFollowerLinks} reached`, CloseCode.TOO_MANY_PEERS)
    }
    const evicted = this.#makeRoom(link, undefined)
    this.#set(link)
    return evicted === undefined ? {} : { evicted }
  }

  /** Removes the link if it is the registered one for its peer; returns whether it was. */
  deregister(link: L): boolean {
    if (this.#links.get(link.remoteId) !== link) return false
    this.#remove(link)
    return true
  }

  /**
   * Checks the caps `link` must fit (`replacing` leaves as it comes in); when one is full and the
   * link is a validator's, evicts the longest-registered follower whose slot frees it.
   */
  #makeRoom(link: L, replacing: L | undefined): L | undefined {
    const size = this.#links.size - (replacing === undefined ? 0 : 1)
    const outbound = this.#outbound - (replacing?.initiated === true ? 1 : 0)
    const inbound = size - outbound
    const overTotal = size >= this.#caps.maxPeers
    const overDirection = link.initiated ? outbound >= this.#caps.maxOutboundPeers : inbound >= this.#caps.maxInboundPeers
    if (!overTotal && !overDirection) return undefined
    const what = overDirection
      ? `${link.initiated ? 'outbound' : 'inbound'} peer limit of ${link.initiated ? this.#caps.maxOutboundPeers : this.#caps.maxInboundPeers}`
      : `peer limit of ${this.#caps.maxPeers}`
    if (!link.remoteIsValidator) throw new LimitExceededError(`${what} reached`, CloseCode.TOO_MANY_PEERS)
    // A follower in the same direction frees both the direction's slot and a total one.
    for (const candidate of this.#links.values()) {
      if (candidate.remoteIsValidator || candidate === replacing) continue
      if (overDirection && candidate.initiated !== link.initiated) continue
      this.#remove(candidate)
      return candidate
    }
    throw new LimitExceededError(`${what} reached, all of it by validators`, CloseCode.TOO_MANY_PEERS)
  }

  #remove(link: L): void {
    this.#links.delete(link.remoteId)
    if (link.initiated) this.#outbound--
    if (!link.remoteIsValidator) this.#followers--
  }

  #set(link: L): void {
    const previous = this.#links.get(link.remoteId)
    if (previous !== undefined) this.#remove(previous)
    this.#links.set(link.remoteId, link)
    if (link.initiated) this.#outbound++
    if (!link.remoteIsValidator) this.#followers++
  }
}
