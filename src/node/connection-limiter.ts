/**
 * Admission control for the /chat endpoint, decided on the HTTP upgrade request before any
 * WebSocket exists (hostile-inputs.md: a connection costs memory and a handshake timer long
 * before it can be refused for what it says). A stranger cannot be told from a member before
 * HELLO, so fairness is by remote address:
 *
 * - new connections per second per remote address: a token bucket per address, refilled at
 *   `maxConnectionsPerSecond` tokens a second and holding at most that many, so a burst of one
 *   second's worth passes and a sustained flood gets 429;
 * - pending connections per address: accepted chats that have not completed HELLO yet, from one
 *   address; over `maxPendingConnectionsPerAddress` its new upgrades get 503, so one address can
 *   never hold the slots others need;
 * - pending connections, all addresses together (`maxPendingConnections`): when every slot is
 *   taken, a newcomer whose address holds fewer pending slots than the busiest address takes the
 *   oldest slot of that busiest address (the evicted socket is destroyed: a stranger that has not
 *   said HELLO in that time loses nothing an honest peer would miss, an honest peer retries).
 *   Only a newcomer whose own address already holds as many slots as any other gets 503. Many
 *   addresses each holding one slot still cannot lock a member out: the member's address holds
 *   none, so it always evicts.
 *
 * An upgrade enters `admit(address, evict)`; a refusal (status + reason) or a PendingTicket
 * leaves. The server calls `ticket.established()` when the core registered the link
 * (acceptStream's `onEstablished`) and `ticket.release()` when the socket closes; either settles
 * the ticket once. `evict` is called (once, the ticket already settled) when a newcomer takes the
 * slot; the server destroys the socket.
 *
 *   const limiter = createConnectionLimiter({ maxPendingConnections: 64, maxConnectionsPerSecond: 20 })
 *   const admission = limiter.admit(req.socket.remoteAddress ?? '', () => socket.destroy())
 *   if (!admission.ok) return refuse(admission.status)
 *   socket.once('close', admission.ticket.release)
 */
import { ConfigError } from '../core/errors.js'
import { POSITIVE_INTEGER, describeIntegerRule, integerWithin, showValue } from '../core/util/integer-options.js'

/**
 * Accepted /chat connections still in their HELLO exchange, all remote addresses together (64).
 * Honest peers hold one only for a round trip; the rest are sockets that never say HELLO, each
 * closed by the handshake timeout (DEFAULT_HANDSHAKE_TIMEOUT_MS).
 */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 64

/**
 * Accepted /chat connections still in their HELLO exchange from one remote address (8). A peer
 * dials another once (a tie-break can make two links for a moment), so 8 leaves room for several
 * peers behind one NAT address while one address holds at most an eighth of the 64 slots.
 */
export const DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS = 8

/**
 * New /chat connections per second from one remote address (20): the refill rate of a token
 * bucket that also holds at most this many, so a burst of one second's worth is admitted.
 */
export const DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS = 20

/**
 * Remote addresses whose bucket is remembered at once (10,000). Past it, buckets refilled to full
 * (the address was idle a second or more, so forgetting it changes nothing) are dropped; if that is
 * not enough the oldest go, which at worst gives their addresses a fresh second's burst.
 */
export const MAX_TRACKED_ADDRESSES = 10_000

export interface ConnectionLimits {
  /** Default DEFAULT_MAX_PENDING_CONNECTIONS (64). */
  maxPendingConnections: number
  /** Default DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS (20). */
  maxConnectionsPerSecond: number
  /** Default DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS (8); at most maxPendingConnections. */
  maxPendingConnectionsPerAddress: number
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxPendingConnections: DEFAULT_MAX_PENDING_CONNECTIONS,
  maxConnectionsPerSecond: DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
  maxPendingConnectionsPerAddress: DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS,
})

/** A connection counted as pending until one of these is called; both are idempotent. */
export interface PendingTicket {
  /** The link completed HELLO: it no longer counts as pending. */
  established(): void
  /** The connection ended (before or after HELLO). */
  release(): void
}

export type Admission =
  | { ok: true; ticket: PendingTicket }
  | { ok: false; status: 429 | 503; reason: string }

export interface ConnectionLimiterStats {
  /** Connections admitted and not yet established or released. */
  pending: number
  /** Upgrades refused with 429 (rate per address) since creation. */
  refusedRate: number
  /** Upgrades refused with 503 (pending caps, per address or all together) since creation. */
  refusedPending: number
  /** Pending connections evicted to make room for a newcomer from a less busy address. */
  evicted: number
  /** Addresses holding at least one pending connection. */
  pendingAddresses: number
  /** Addresses whose bucket is remembered. */
  trackedAddresses: number
}

export interface ConnectionLimiter {
  /** `evict` is called if a newcomer later takes this connection's slot (see the header). */
  admit(address: string, evict?: () => void): Admission
  stats(): ConnectionLimiterStats
}

export interface ConnectionLimiterOptions extends Partial<ConnectionLimits> {
  /** Milliseconds, monotonic enough for refills; default performance.now. Tests pass a manual clock. */
  now?: () => number
  /** Overrides MAX_TRACKED_ADDRESSES (tests). */
  maxTrackedAddresses?: number
}

interface Slot {
  settle: () => void
  evict: (() => void) | undefined
}

interface Bucket {
  tokens: number
  at: number
}

function positiveInteger(name: string, value: number): number {
  const checked = integerWithin(value, POSITIVE_INTEGER)
  if (checked === undefined) throw new ConfigError(`${name} must be ${describeIntegerRule(POSITIVE_INTEGER)}, got ${showValue(value)}`)
  return checked
}

export function createConnectionLimiter(options: ConnectionLimiterOptions = {}): ConnectionLimiter {
  const maxPending = positiveInteger('maxPendingConnections', options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS)
  const rate = positiveInteger('maxConnectionsPerSecond', options.maxConnectionsPerSecond ?? DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS)
  const perAddress = Math.min(
    maxPending,
    positiveInteger('maxPendingConnectionsPerAddress', options.maxPendingConnectionsPerAddress ?? DEFAULT_MAX_PENDING_CONNECTIONS_PER_ADDRESS),
  )
  const maxTracked = positiveInteger('maxTrackedAddresses', options.maxTrackedAddresses ?? MAX_TRACKED_ADDRESSES)
  const now = options.now ?? (() => performance.now())
  const buckets = new Map<string, Bucket>()
  // Pending slots by address; each Set keeps insertion order, so its first entry is the oldest.
  const pendingByAddress = new Map<string, Set<Slot>>()
  let pending = 0
  let refusedRate = 0
  let refusedPending = 0
  let evicted = 0

  const refill = (bucket: Bucket, t: number): void => {
    // A clock that steps back must not mint tokens nor drain them.
    const elapsed = Math.max(0, t - bucket.at)
    bucket.tokens = Math.min(rate, bucket.tokens + (elapsed * rate) / 1000)
    bucket.at = t
  }

  const prune = (t: number): void => {
    for (const [address, bucket] of buckets) {
      refill(bucket, t)
      if (bucket.tokens >= rate) buckets.delete(address)
    }
    // Map order is insertion order: the oldest addresses go first.
    for (const address of buckets.keys()) {
      if (buckets.size < maxTracked) break
      buckets.delete(address)
    }
  }

  const takeToken = (address: string): boolean => {
    const t = now()
    let bucket = buckets.get(address)
    if (bucket === undefined) {
      if (buckets.size >= maxTracked) prune(t)
      bucket = { tokens: rate, at: t }
      buckets.set(address, bucket)
    } else {
      refill(bucket, t)
    }
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  const newTicket = (address: string, evict: (() => void) | undefined): PendingTicket => {
    let settled = false
    const slot: Slot = {
      evict,
      settle: () => {
        if (settled) return
        settled = true
        pending--
        const slots = pendingByAddress.get(address)
        slots?.delete(slot)
        if (slots?.size === 0) pendingByAddress.delete(address)
      },
    }
    let slots = pendingByAddress.get(address)
    if (slots === undefined) pendingByAddress.set(address, (slots = new Set()))
    slots.add(slot)
    pending++
    return { established: slot.settle, release: slot.settle }
  }

  /** Frees the oldest slot of the busiest address if it holds more than `than` (the newcomer's own count); false when none does. */
  const evictFromBusiest = (than: number): boolean => {
    let busiest: Set<Slot> | undefined
    for (const slots of pendingByAddress.values()) if (busiest === undefined || slots.size > busiest.size) busiest = slots
    if (busiest === undefined || busiest.size <= than) return false
    const oldest = busiest.values().next().value as Slot
    oldest.settle()
    evicted++
    oldest.evict?.()
    return true
  }

  return {
    admit(address, evict) {
      // The token is spent even when the pending cap refuses next: hammering a full server costs
      // the attacker its rate just the same.
      if (!takeToken(address)) {
        refusedRate++
        return { ok: false, status: 429, reason: `more than ${rate} new connections per second from this address` }
      }
      const own = pendingByAddress.get(address)?.size ?? 0
      if (own >= perAddress) {
        refusedPending++
        return { ok: false, status: 503, reason: `${perAddress} connections from this address are already waiting for their HELLO` }
      }
      if (pending >= maxPending && !evictFromBusiest(own)) {
        refusedPending++
        return { ok: false, status: 503, reason: `${maxPending} connections are already waiting for their HELLO` }
      }
      return { ok: true, ticket: newTicket(address, evict) }
    },
    stats: () => ({ pending, refusedRate, refusedPending, evicted, pendingAddresses: pendingByAddress.size, trackedAddresses: buckets.size }),
  }
}
