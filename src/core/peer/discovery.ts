/**
 * How a peer finds the others and keeps dialing them (Fabric's discovery and its "known" list).
 * It owns the address book (address-book.ts), the dials in flight and their backoff: an address
 * is dialed when due, at most maxDialsInFlight at once and never past the peer and outbound caps;
 * a failed dial, or a link that ended, makes its addresses due again after redialDelay. Every
 * discoveryPeriodMs it asks each linked peer for its peers (DISC_GET_PEERS); it answers the
 * same question from others (peersFor) and learns the lists they send (learnPeers).
 *
 * A follower (non-validator) linked to a validator dials no other non-validator: it gets blocks
 * from the validator, and relays (block-sync.ts) serve only those that dialed them, so links among
 * followers exist where a follower has no validator (all full: 4005) and needs a relay.
 *
 * Which due addresses it dials first (issue #16, followers at scale): validators before the rest,
 * and in random order within each, so that many peers with few slots (a tab keeps 3 links) spread
 * over the network instead of all taking the first addresses of the same lists. Validators first
 * because only they announce blocks and take a follower's transactions into consensus; and while
 * no validator is linked or being dialed but one is known, the last free slot is kept for it.
 *
 * In: bootstrap addresses, addresses dialed by hand, links registered and ended, DISC_PEERS lists.
 * Out: dials (through `dial`, the peer's chatWithPeer), DISC_GET_PEERS, the endpoints a DISC_PEERS
 * answer lists. It reads the registry (how many links, to whom) and never changes it.
 *
 *   const discovery = new Discovery({ self, limits, clock, log, linked: registry, metrics, ... })
 *   discovery.addBootstrap(config.bootstrap ?? [])
 *   discovery.start()                          // dials what is due, asks for peers every period
 *   discovery.learnPeers(list, link)           // a DISC_PEERS arrived: remember, dial what is due
 *   discovery.linkEnded(link, true)            // its addresses are due for a redial
 *   discovery.stop()                           // aborts the dials in flight
 */
import { CloseCode, TransportError, describeError } from '../errors.js'
import type { Link } from '../handlers/link.js'
import type { Clock, TimerHandle } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import type { Envelope } from '../wire/envelope.js'
import { MessageType } from '../wire/message-type.js'
import { makeEnvelope } from '../wire/payloads.js'
import { EndpointType, type PeerEndpoint } from '../wire/payload-types.js'
import { AddressBook, normalizeChatAddress, redialDelay, type AddressEntry } from './address-book.js'
import type { PeerLimits } from './limits.js'
import type { PeerMetrics } from './peer-metrics.js'

/** The registered links, as discovery reads them (the peer's PeerRegistry). */
export interface LinkedPeers {
  readonly size: number
  /** Registered links this peer dialed. */
  readonly outbound: number
  has(peerId: string): boolean
  values(): Iterable<Link>
}

export type DiscoveryLimits = Pick<
  PeerLimits,
  'maxDialsInFlight' | 'maxPeers' | 'maxOutboundPeers' | 'maxPeersList' | 'maxKnownAddresses' | 'discoveryPeriodMs' | 'redialBaseMs' | 'redialMaxMs'
>

export interface DiscoveryOptions {
  /** This peer: its own ID and address are never dialed nor learned. */
  self: { readonly id: string; readonly address: string }
  limits: DiscoveryLimits
  clock: Clock
  log: Logger
  linked: LinkedPeers
  metrics: Pick<PeerMetrics, 'peersListEntriesDropped'>
  /** Whether the peer has a connector; without one nothing is dialed. */
  canDial: boolean
  /** Whether the peer runs: the period and dials stop with it. */
  running(): boolean
  /**
   * Dials an address and runs its chat until it ends (the peer's chatWithPeer). It counts itself
   * with countDial before it first waits, so the next due address sees it in flight.
   */
  dial(address: string, signal: AbortSignal): Promise<void>
  /** Sends on a link; false when it could not (closed). */
  send(link: Link, envelope: Envelope): boolean
  /** Called each period after DISC_GET_PEERS went out (a follower retries its catch-up there). */
  onPeriod(): void
  /** Uniform in [0, 1), for the order of due addresses; Math.random unless a test seeds it. */
  random?: () => number
  /**
   * This peer is a follower (non-validator): it dials known non-validators only while no validator
   * is linked. A follower linked to a validator needs no relay, and followers that all dialed each
   * other would each relay every block to every other.
   */
  follower?: boolean
}

export class Discovery {
  readonly #o: DiscoveryOptions
  readonly #book: AddressBook
  readonly #dialAborts = new Set<AbortController>()
  #dialsInFlight = 0
  #timer: TimerHandle | undefined

  constructor(options: DiscoveryOptions) {
    this.#o = options
    this.#book = new AddressBook(options.limits.maxKnownAddresses)
  }

  /** Addresses known (for metrics). */
  get knownAddresses(): number {
    return this.#book.size
  }

  /** Dials started and not yet registered nor ended. */
  get dialsInFlight(): number {
    return this.#dialsInFlight
  }

  /** Remembers the bootstrap addresses (not dialed before start). */
  addBootstrap(raws: readonly string[]): void {
    for (const raw of raws) {
      const address = normalizeChatAddress(raw)
      if (address === undefined) {
        this.#o.log.warn('ignoring bootstrap address that is not a ws:// URL', { address: raw })
        continue
      }
      if (address !== this.#o.self.address) this.#book.add(address)
    }
  }

  /** Remembers an address dialed by hand (a normalized chat URL), so it is redialed when lost. */
  remember(address: string): void {
    this.#book.add(address)
  }

  /**
   * Counts one dial in flight (against maxDialsInFlight and the caps) until the returned function
   * is first called: when its link registers, or the dial or its chat ends.
   */
  countDial(): () => void {
    this.#dialsInFlight++
    let counted = true
    return () => {
      if (counted) {
        counted = false
        this.#dialsInFlight--
      }
    }
  }

  /** Starts the period and dials what is due. */
  start(): void {
    this.#schedule()
    this.dialDue()
  }

  /** Stops the period and aborts the dials in flight. */
  stop(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer)
    for (const controller of this.#dialAborts) controller.abort()
  }

  /**
   * Dials due addresses while the limits leave room: validators first, in random order within each
   * kind (dialOrder); the last free slot is kept for a validator while none is linked or dialed
   * and one is known.
   */
  dialDue(): void {
    const { limits, linked, self } = this.#o
    if (!this.#o.running() || !this.#o.canDial) return
    let reserve = this.#validatorWanted()
    const relayNeeded = this.#o.follower !== true || !this.#validatorLinked()
    for (const entry of dialOrder(this.#book.due(this.#o.clock.now()), this.#o.random ?? Math.random)) {
      if (this.#dialsInFlight >= limits.maxDialsInFlight) return
      const room = Math.min(limits.maxPeers - linked.size, limits.maxOutboundPeers - linked.outbound) - this.#dialsInFlight
      if (room <= 0) return
      if (entry.address === self.address || entry.id === self.id) continue
      if (entry.id !== undefined && linked.has(entry.id)) {
        entry.connected = true
        continue
      }
      if (reserve && room === 1 && entry.validator !== true) continue
      if (!relayNeeded && entry.validator === false) continue
      this.#dial(entry)
      if (entry.validator === true) reserve = false
    }
  }

  #validatorLinked(): boolean {
    for (const link of this.#o.linked.values()) if (link.remoteIsValidator) return true
    return false
  }

  /** Whether no validator is linked or being dialed while one is known: then one slot waits for it. */
  #validatorWanted(): boolean {
    if (this.#validatorLinked()) return false
    let known = false
    for (const entry of this.#book.values()) {
      if (entry.validator !== true || entry.id === this.#o.self.id) continue
      if (entry.dialing) return false
      known = true
    }
    return known
  }

  /** A link registered: the address it was dialed at and the one it announced are connected. */
  linkRegistered(link: Link): void {
    const remote = link.remote!
    if (link.dialedAddress !== undefined) {
      const entry = this.#book.add(link.dialedAddress, remote.id, link.remoteIsValidator)
      if (entry !== undefined) this.#markConnected(entry)
    }
    const announced = normalizeChatAddress(remote.address)
    if (announced !== undefined && announced !== link.dialedAddress) {
      const entry = this.#book.add(announced, remote.id, link.remoteIsValidator)
      if (entry !== undefined) this.#markConnected(entry)
    }
  }

  /**
   * A link ended (with close `code`). A registered one (`wasRegistered`) makes both the address
   * dialed and the one announced due for a redial, soon, or backing off while the peer keeps
   * closing it for want of room (4005); a dial that never registered (refused, handshake failed)
   * backs off. Then what else is due is dialed into the freed slot: a follower a full validator
   * turned away has just learned a relay from it (peer.ts, #sendOtherPeers), and must not wait a period.
   */
  linkEnded(link: Link, wasRegistered: boolean, code?: number): void {
    if (wasRegistered) {
      const full = code === CloseCode.TOO_MANY_PEERS
      for (const address of new Set([link.dialedAddress, normalizeChatAddress(link.remote!.address)])) {
        const entry = address === undefined ? undefined : this.#book.get(address)
        if (entry === undefined) continue
        entry.fullRefusals = full ? entry.fullRefusals + 1 : 0
        this.#scheduleRedial(entry, full ? entry.fullRefusals : 1)
      }
      this.dialDue()
    } else if (link.dialedAddress !== undefined && (link.remote === undefined || !this.#o.linked.has(link.remote.id))) {
      const entry = this.#book.get(link.dialedAddress)
      if (entry !== undefined) this.#scheduleRedial(entry, entry.failures + 1)
    }
  }

  /** The endpoints to answer a DISC_GET_PEERS with: linked peers with an address, never the asker. */
  peersFor(link: Link): PeerEndpoint[] {
    const out: PeerEndpoint[] = []
    for (const other of this.#o.linked.values()) {
      if (other === link || other.remote === undefined || other.remote.address === '') continue
      out.push(other.remote)
      if (out.length >= this.#o.limits.maxPeersList) break
    }
    return out
  }

  /** A DISC_PEERS list: remembers up to maxPeersList valid entries (not this peer), then dials what is due. */
  learnPeers(peers: readonly unknown[], from: Link): void {
    const { limits, self } = this.#o
    let taken = 0
    let dropped = 0
    for (const raw of peers) {
      if (taken >= limits.maxPeersList) {
        dropped += peers.length - taken
        break
      }
      taken++
      const entry = raw as Partial<PeerEndpoint> | null
      const address = normalizeChatAddress(entry?.address)
      const id = typeof entry?.id === 'string' ? entry.id : undefined
      if (address === undefined || id === undefined || id === self.id || address === self.address) {
        dropped++
        continue
      }
      const validator = entry?.type === undefined ? undefined : entry.type === EndpointType.VALIDATOR
      if (this.#book.add(address, id, validator) === undefined) dropped++
    }
    if (dropped > 0) {
      this.#o.metrics.peersListEntriesDropped += dropped
      this.#o.log.debug('dropped DISC_PEERS entries', { remotePeer: from.label, dropped, listed: peers.length })
    }
    this.dialDue()
  }

  #schedule(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      if (!this.#o.running()) return
      const ask = makeEnvelope(MessageType.DISC_GET_PEERS, {})
      for (const link of this.#o.linked.values()) this.#o.send(link, ask)
      this.#o.onPeriod()
      this.#schedule()
    }, this.#o.limits.discoveryPeriodMs)
  }

  #dial(entry: AddressEntry): void {
    entry.dialing = true
    const controller = new AbortController()
    this.#dialAborts.add(controller)
    this.#o
      .dial(entry.address, controller.signal)
      .catch((err: unknown) => {
        const transportEnd = err instanceof TransportError && err.remoteCloseCode === CloseCode.DUPLICATE_LINK
        if (this.#o.running() && !transportEnd) {
          this.#o.log.debug('dial failed', { address: entry.address, error: describeError(err) })
        }
        if (!entry.connected && !(entry.id !== undefined && this.#o.linked.has(entry.id))) {
          this.#scheduleRedial(entry, entry.failures + 1)
        }
      })
      .finally(() => {
        entry.dialing = false
        this.#dialAborts.delete(controller)
      })
  }

  #markConnected(entry: AddressEntry): void {
    entry.connected = true
    entry.failures = 0
    entry.nextDialAt = 0
  }

  #scheduleRedial(entry: AddressEntry, failures: number): void {
    entry.connected = false
    entry.failures = failures
    entry.nextDialAt = this.#o.clock.now() + redialDelay(failures, this.#o.limits.redialBaseMs, this.#o.limits.redialMaxMs)
  }
}

/**
 * The order due addresses are dialed in: known validators, then addresses of unknown role (a
 * bootstrap address not yet linked), then known non-validators; shuffled within each (Fisher-Yates
 * with `random`), so peers that learned the same list do not all dial the same few first.
 */
export function dialOrder<E extends { validator: boolean | undefined }>(entries: readonly E[], random: () => number): E[] {
  const shuffled = [...entries]
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
  }
  const rank = (e: E): number => (e.validator === true ? 0 : e.validator === undefined ? 1 : 2)
  // Array.prototype.sort is stable, so the shuffle stands within each rank.
  return shuffled.sort((a, b) => rank(a) - rank(b))
}
