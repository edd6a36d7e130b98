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

export class PeerRegistry<L extends RegistrableLink> {
  readonly #selfId: string
  readonly #maxPeers: number
  readonly #links = new Map<string, L>()

  constructor(selfId: string, maxPeers: number) {
    this.#selfId = selfId
    this.#maxPeers = maxPeers
  }

  get size(): number {
    return this.#links.size
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
    if (existing === undefined) {
      if (this.#links.size >= this.#maxPeers) {
        throw new LimitExceededError(`peer limit of ${this.#maxPeers} reached`, CloseCode.TOO_MANY_PEERS)
      }
      this.#links.set(link.remoteId, link)
      return undefined
    }
    if (existing === link) return undefined
    if (!incomingLinkWins(existing, link, this.#selfId)) throw new DuplicateLinkError(link.remoteId)
    this.#links.set(link.remoteId, link)
    return existing
  }

  /** Removes the link if it is the registered one for its peer; returns whether it was. */
  deregister(link: L): boolean {
    if (this.#links.get(link.remoteId) !== link) return false
    this.#links.delete(link.remoteId)
    return true
  }
}
