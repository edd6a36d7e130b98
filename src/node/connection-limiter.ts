/**
 * Admission control for the /chat endpoint, decided on the HTTP upgrade request before any
 * WebSocket exists (hostile-inputs.md: a connection costs memory and a handshake timer long
 * before it can be refused for what it says). Two limits:
 *
 * - new connections per second per remote address: a token bucket per address, refilled at
 *   `maxConnectionsPerSecond` tokens a second and holding at most that many, so a burst of one
 *   second's worth passes and a sustained flood gets 429;
 * - pending connections: accepted chats that have not completed HELLO yet, all addresses
 *   together; over `maxPendingConnections` new upgrades get 503. An address that opens sockets
 *   and never says HELLO can then hold at most the cap, each for at most the handshake timeout.
 *
 * An upgrade enters `admit(address)`; a refusal (status + reason) or a PendingTicket leaves. The
 * server calls `ticket.established()` when the core registered the link (acceptStream's
 * `onEstablished`) and `ticket.release()` when the socket closes; either settles the ticket once.
 *
 *   const limiter = createConnectionLimiter({ maxPendingConnections: 64, maxConnectionsPerSecond: 20 })
 *   const admission = limiter.admit(req.socket.remoteAddress ?? '')
 *   if (!admission.ok) return refuse(admission.status)
 *   socket.once('close', admission.ticket.release)
 */

/**
 * Accepted /chat connections still in their HELLO exchange, all remote addresses together (64).
 * Honest peers hold one only for a round trip; the rest are sockets that never say HELLO, each
 * closed by the handshake timeout (DEFAULT_HANDSHAKE_TIMEOUT_MS).
 */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 64

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
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  maxPendingConnections: DEFAULT_MAX_PENDING_CONNECTIONS,
  maxConnectionsPerSecond: DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS,
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
  /** Upgrades refused with 503 (pending cap) since creation. */
  refusedPending: number
  /** Addresses whose bucket is remembered. */
  trackedAddresses: number
}

export interface ConnectionLimiter {
  admit(address: string): Admission
  stats(): ConnectionLimiterStats
}

export interface ConnectionLimiterOptions extends Partial<ConnectionLimits> {
  /** Milliseconds, monotonic enough for refills; default performance.now. Tests pass a manual clock. */
  now?: () => number
  /** Overrides MAX_TRACKED_ADDRESSES (tests). */
  maxTrackedAddresses?: number
}

interface Bucket {
  tokens: number
  at: number
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`)
  return value
}

export function createConnectionLimiter(options: ConnectionLimiterOptions = {}): ConnectionLimiter {
  const maxPending = positiveInteger('maxPendingConnections', options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS)
  const rate = positiveInteger('maxConnectionsPerSecond', options.maxConnectionsPerSecond ?? DEFAULT_MAX_CONNECTIONS_PER_SECOND_PER_ADDRESS)
  const maxTracked = positiveInteger('maxTrackedAddresses', options.maxTrackedAddresses ?? MAX_TRACKED_ADDRESSES)
  const now = options.now ?? (() => performance.now())
  const buckets = new Map<string, Bucket>()
  let pending = 0
  let refusedRate = 0
  let refusedPending = 0

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

  const newTicket = (): PendingTicket => {
    let settled = false
    const settle = (): void => {
      if (settled) return
      settled = true
      pending--
    }
    return { established: settle, release: settle }
  }

  return {
    admit(address) {
      // The token is spent even when the pending cap refuses next: hammering a full server costs
      // the attacker its rate just the same.
      if (!takeToken(address)) {
        refusedRate++
        return { ok: false, status: 429, reason: `more than ${rate} new connections per second from this address` }
      }
      if (pending >= maxPending) {
        refusedPending++
        return { ok: false, status: 503, reason: `${maxPending} connections are already waiting for their HELLO` }
      }
      pending++
      return { ok: true, ticket: newTicket() }
    },
    stats: () => ({ pending, refusedRate, refusedPending, trackedAddresses: buckets.size }),
  }
}
