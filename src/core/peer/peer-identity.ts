/**
 * Who a peer is and whom it lets in (SECURITY.md): its key pair (the configured one, or one the
 * peer generates at start), the addresses that are its own (a handshake naming another was meant
 * for someone else), and the membership that binds validator IDs to keys. Without a membership the
 * peer runs in open development mode: any key may claim any ID, and a peer that announces itself a
 * validator may send CONSENSUS. Each link's handshake (identity/handshake.ts) is made here.
 *
 * In: the identity config, the peer's own addresses, its key pair at start. Out: handshakes, the
 * CONSENSUS admission of a link, the identity part of status, the start-up word on open mode.
 *
 *   const identity = new PeerIdentity({ self, config: config.identity, ownAddresses, clock, handshakeTimeoutMs })
 *   identity.adopt(keyPair)                // at start: self now carries its key id
 *   identity.createHandshake(link)         // dialer or acceptor by link.initiated
 *   identity.mayConsent(link)              // after the handshake: may it send CONSENSUS?
 */
import type { Link } from '../handlers/link.js'
import { createHandshake, type Handshake } from '../identity/handshake.js'
import type { KeyPair } from '../identity/key-pair.js'
import type { Membership } from '../identity/membership.js'
import type { Clock } from '../util/clock.js'
import type { Logger } from '../util/logger.js'
import { EndpointType, type PeerEndpoint, type PeerRole } from '../wire/payload-types.js'
import type { IdentityStatus, PeerIdentityConfig } from './peer-types.js'

export interface PeerIdentityOptions {
  /** This peer's endpoint; adopt() sets its key id. */
  self: PeerEndpoint
  config: PeerIdentityConfig | undefined
  /** The peer's address and aliases, normalized (peer-config.ts). */
  ownAddresses: readonly string[]
  clock: Clock
  handshakeTimeoutMs: number
}

export class PeerIdentity {
  readonly #o: PeerIdentityOptions
  #keyPair: KeyPair | undefined

  constructor(options: PeerIdentityOptions) {
    this.#o = options
  }

  /** This peer's key pair, from start on. */
  get keyPair(): KeyPair | undefined {
    return this.#keyPair
  }

  /** The validator set bound to keys; undefined in open development mode. */
  get membership(): Membership | undefined {
    return this.#o.config?.membership
  }

  /** Takes this peer's key pair (at start): its endpoint carries the key id from now on. */
  adopt(keyPair: KeyPair): void {
    this.#keyPair = keyPair
    this.#o.self.pkiId = keyPair.keyId
  }

  /** A fresh authenticated handshake for a link (dialer or acceptor by `link.initiated`). */
  createHandshake(link: Link): Handshake {
    const membership = this.membership
    return createHandshake({
      role: link.initiated ? 'dialer' : 'acceptor',
      self: this.#o.self,
      keyPair: this.#keyPair!,
      ...(link.dialedAddress === undefined ? {} : { dialedAddress: link.dialedAddress }),
      ownAddresses: this.#o.ownAddresses,
      ...(membership === undefined ? {} : { membership }),
      clock: this.#o.clock,
      timeoutMs: this.#o.handshakeTimeoutMs,
    })
  }

  /** Whether a link's authenticated remote may send CONSENSUS: a member, or in open mode an announced validator. */
  mayConsent(link: Link): boolean {
    const remote = link.remote
    if (remote === undefined) return false
    const membership = this.membership
    // The handshake already bound a member's ID to its key, so membership by ID is membership by key.
    if (membership !== undefined) return membership.get(remote.id) !== undefined
    return remote.type === EndpointType.VALIDATOR
  }

  status(): IdentityStatus {
    return {
      keyId: this.#keyPair?.keyIdHex ?? '',
      mode: this.membership === undefined ? 'open' : 'closed',
      members: this.membership?.members.length ?? 0,
    }
  }

  /** Says at start what a peer without a membership lacks: loudly for a validator, plainly for a follower. */
  logMode(role: PeerRole, log: Logger): void {
    if (this.membership === undefined && role === 'validator') {
      log.warn(
        'OPEN DEVELOPMENT MODE: no membership configured, so any key may claim any peer ID and any peer calling itself a validator may send CONSENSUS. Give a membership file on networks you do not fully trust (SECURITY.md).',
      )
    } else if (this.membership === undefined) {
      // A non-validator (every browser tab) orders nothing; shouting open mode in a closed
      // network's tab read as if the network were open. What it does lack is said plainly.
      log.info(
        'no membership: this non-validator orders nothing, and takes any key for any peer ID, so it cannot tell the validators it follows from impostors; give it the membership where that matters (SECURITY.md)',
      )
    }
  }
}
