/**
 * A peer for the current browser tab, as the dashboard runs it: a non-validator with a random
 * `tab-<hex>` ID that dials one Node peer's chat URL, learns the rest by discovery, and redials
 * by itself (the core's address book: capped exponential backoff with jitter). When the tab
 * becomes visible again it dials known addresses that are not connected at once, because
 * browsers throttle timers in hidden tabs and the backoff may have grown meanwhile.
 *
 * It keeps at most TAB_MAX_LINKS (3) links, not one to every Node peer (issue #16): a network
 * serving many tabs would otherwise hold a link, and send every block, from every peer to every
 * tab. Discovery picks which (discovery.ts): validators first, since only they announce blocks and
 * take the tab's transactions toward consensus, a slot kept for one while none is linked, and in
 * random order otherwise, so 50 tabs spread over the peers rather than all taking the same three.
 * `limits.maxPeers` changes the cap (TabPeerOptions.limits).
 *
 * Its chain is kept in IndexedDB (tab-ledger.ts): a reloaded tab starts at the height it had, after
 * checking against the Node peer's /chain and /blocks/<n> that the stored blocks are still the
 * network's, and fetches only what it lacks.
 *
 * In: the chat URL to start from. Out: the running Peer, the refusals other peers sent back to
 * this tab (RESPONSE failures, e.g. ERR_QUEUE_FULL after a flood), and `flood()`.
 *
 * A tab cannot listen: its address is '' and no peer can dial it, so two tabs never link
 * directly; whatever one tab sends another reaches it through Node peers.
 */
import { createBrowserConnector } from './browser-connector.js'
import type { ChatConnector, Peer } from '../core/peer/peer-types.js'
import type { ChatStreamEnd } from '../core/chat/chat-stream.js'
import { createPeer } from '../core/peer/peer.js'
import type { PeerLimits } from '../core/peer/limits.js'
import { createConsoleLogger, type LogLevel } from '../core/util/logger.js'
import { ConfigError, describeError } from '../core/errors.js'
import type { ConsenterOptions } from '../core/consensus/consenter.js'
import { MessageType } from '../core/wire/message-type.js'
import { makeEnvelope } from '../core/wire/payloads.js'
import { normalizeChatAddress } from '../core/peer/address-book.js'
import { dialOrder } from '../core/peer/discovery.js'
import type { KeyPair } from '../core/identity/key-pair.js'
import { validateMembership, type Membership } from '../core/identity/membership.js'
import type { PeerRole } from '../core/wire/payload-types.js'
import { loadTabKey } from './tab-key-store.js'
import { openTabLedger, type TabLedgerStorage } from './tab-ledger.js'
import { httpBaseOf } from './http-base.js'
import { networkLabel } from '../core/ledger/network-label.js'
import type { Ledger } from '../core/ledger/ledger.js'
import { toHex } from '../core/util/bytes.js'
import type { Logger } from '../core/util/logger.js'

/** DISC_GET_PEERS period of a tab (2 s, instead of a Node peer's 5 s): a dashboard should fill fast. */
export const TAB_DISCOVERY_PERIOD_MS = 2000
/** Longest redial backoff of a tab (5 s, instead of 30 s): the tab's user is watching. */
export const TAB_REDIAL_MAX_MS = 5000
/**
 * Links a tab keeps at most (3): enough that one peer going away leaves it following the chain,
 * few enough that many tabs do not each cost every Node peer a link. `limits.maxPeers` overrides it.
 */
export const TAB_MAX_LINKS = 3
/** Most envelopes one flood() sends (20000). */
export const MAX_FLOOD_MESSAGES = 20_000
/** How long a starting tab waits for the Node peer's /chain and /blocks/<n> when it compares its stored chain (3 s). */
export const SAME_HISTORY_TIMEOUT_MS = 3000
/** How long a starting tab waits for the Node peer's /membership (3 s). */
export const MEMBERSHIP_FETCH_TIMEOUT_MS = 3000
/** Refusals kept for display (200); older ones are dropped, counts are kept. */
export const MAX_REFUSALS_KEPT = 200

export interface Refusal {
  at: number
  peer: string
  code: string
  message: string
  inReplyTo: string | undefined
}

/** How one dialed link ended, as its stream saw it. */
export interface LinkEnd extends ChatStreamEnd {
  address: string
}

export interface TabPeerOptions {
  /** The first chat URL to dial, `ws://host:port/chat`. */
  connect: string
  /** Peer ID; a random `tab-<6 hex>` when absent. */
  id?: string
  limits?: Partial<PeerLimits>
  /** The network's consenter plugin (default noops); a tab runs it as a non-validator, forwarding its transactions. */
  consensus?: string
  consensusOptions?: ConsenterOptions
  logLevel?: LogLevel
  /**
   * 'non-validator' (default). A tab may announce itself as a validator, but peers take its
   * CONSENSUS only in open development mode or when their membership lists its ID and key.
   */
  role?: PeerRole
  /** The tab's key; default the origin's non-extractable key from IndexedDB (tab-key-store.ts). */
  keyPair?: KeyPair
  /**
   * Where the tab keeps its chain: 'indexeddb' (default; a reload starts at the stored height) or
   * 'memory' (a reload starts at genesis). See tab-ledger.ts.
   */
  ledger?: 'indexeddb' | 'memory'
  /**
   * The validator membership the tab verifies blocks against (PROTOCOL.md 11.6): a Membership,
   * 'fetch' (default: `GET /membership` of the peer at `connect`; `{"mode":"open"}` means the
   * network runs in open mode), or 'none'
   * (open mode: blocks are taken as linked peers announce them).
   */
  membership?: Membership | 'fetch' | 'none'
  /** Where visibility changes come from; `document` when present. */
  visibility?: Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>
}

export interface TabPeer {
  readonly peer: Peer
  readonly connect: string
  /** Whether the tab's key survives a reload (IndexedDB), or is a fresh in-memory key. */
  readonly persistentKey: boolean
  /** Where the tab's chain lives and what was loaded (or discarded) at start. */
  readonly storage: TabLedgerStorage
  /** Refusals received from other peers, newest last (at most MAX_REFUSALS_KEPT). */
  refusals(): readonly Refusal[]
  /** Refusal counts by `<peer> <code>`, over the tab's life. */
  refusalCounts(): Record<string, number>
  /** Calls `listener` whenever a dialed link's stream ends; returns the unsubscribe function. */
  onLinkEnd(listener: (end: LinkEnd) => void): () => void
  /** Dials every known, unconnected Node peer now; returns how many dials it started. */
  kickRedial(): number
  /**
   * Sends `count` CHAIN_TRANSACTION envelopes to a connected peer in one event-loop task (so they
   * leave as a few large frames), to push its consensus queue for this link past its bound.
   */
  flood(peerId: string, count: number): { sent: number; firstTxid: string }
  stop(): Promise<void>
}

/**
 * The limits a tab peer runs with: the tab defaults (TAB_DISCOVERY_PERIOD_MS, TAB_REDIAL_MAX_MS,
 * TAB_MAX_LINKS as both maxPeers and maxOutboundPeers: a tab only dials), then `overrides`. A
 * `maxPeers` override is the cap of dialed links too, unless maxOutboundPeers is given.
 */
export function tabPeerLimits(overrides: Partial<PeerLimits> = {}): Partial<PeerLimits> {
  const maxLinks = overrides.maxPeers ?? TAB_MAX_LINKS
  return { discoveryPeriodMs: TAB_DISCOVERY_PERIOD_MS, redialMaxMs: TAB_REDIAL_MAX_MS, maxPeers: maxLinks, maxOutboundPeers: maxLinks, ...overrides }
}

/** `tab-` and 6 random hex digits. */
export function randomTabId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(3))
  return `tab-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`
}

function randomTxid(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16))
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export async function startTabPeer(options: TabPeerOptions): Promise<TabPeer> {
  const connect = normalizeChatAddress(options.connect)
  if (connect === undefined) throw new TypeError(`not a ws:// or wss:// chat URL: ${JSON.stringify(options.connect)}`)
  const kept: Refusal[] = []
  const counts: Record<string, number> = {}
  const log = createConsoleLogger(options.logLevel ?? 'warn')
  const endListeners = new Set<(end: LinkEnd) => void>()
  const dial = createBrowserConnector(options.limits ?? {})
  // Watching each stream's own end is how the tab learns why a link closed (text frame 1003,
  // frame too big 1009, ...): the core reports a link that ended with an error as 1006.
  const connector: ChatConnector = async (address, opts) => {
    const stream = await dial(address, opts)
    stream.done
      .then((end) => {
        for (const listener of endListeners) listener({ ...end, address })
      })
      .catch((err: unknown) => log.error('a link-end listener failed', { address, error: describeError(err) }))
    return stream
  }
  const key = options.keyPair === undefined ? await loadTabKey() : { keyPair: options.keyPair, persistent: false }
  // Bound to the plugin only: a PBFT tab learns the validator set from whoever is linked, which
  // may differ between reloads; a chain from another history is caught by sameHistory instead.
  const tabLedger = await openTabLedger({
    ...(options.ledger === undefined ? {} : { kind: options.ledger }),
    network: networkLabel(options.consensus ?? 'noops'),
    scope: connect,
    // `connect` is a normalized ws(s) URL, so it always has an HTTP base.
    sameHistory: (ledger) => sameHistory(httpBaseOf(connect)!, ledger, log),
    log,
  })
  const membership = await tabMembership(options.membership ?? 'fetch', connect, log)
  const limits = tabPeerLimits(options.limits)
  const peer = createPeer({
    ledger: tabLedger.ledger,
    ...(tabLedger.store === undefined ? {} : { pending: tabLedger.store }),
    identity: { keyPair: key.keyPair, ...(membership === undefined ? {} : { membership }) },
    role: options.role ?? 'non-validator',
    address: '',
    connect: connector,
    id: options.id ?? randomTabId(),
    ...(options.consensus === undefined ? {} : { consensus: options.consensus }),
    ...(options.consensusOptions === undefined ? {} : { consensusOptions: options.consensusOptions }),
    bootstrap: [connect],
    limits,
    log,
  })
  const stopRefusals = peer.on('refused-by-peer', (refusal) => {
    const key = `${refusal.peer} ${refusal.code}`
    counts[key] = (counts[key] ?? 0) + 1
    kept.push({ at: Date.now(), ...refusal })
    if (kept.length > MAX_REFUSALS_KEPT) kept.splice(0, kept.length - MAX_REFUSALS_KEPT)
  })
  try {
    await peer.start()
  } catch (err) {
    await tabLedger.close()
    throw err
  }
  if (tabLedger.storage.loadedBlocks > 0) log.info('chain loaded from IndexedDB', { height: tabLedger.ledger.height(), store: tabLedger.storage.name })

  // Every Node address this tab has been linked to, with whether a validator was there, so a
  // visible-again tab knows whom to dial.
  const known = new Map<string, boolean | undefined>([[connect, undefined]])
  const unsubscribe = peer.on('peer-connected', (info) => {
    const address = normalizeChatAddress(info.address)
    if (address !== undefined) known.set(address, info.role === 'validator')
  })

  // Within the cap: only as many as there are free slots, in discovery's order (validators first, random within).
  const maxLinks = Math.min(limits.maxPeers!, limits.maxOutboundPeers!)
  const kickRedial = (): number => {
    const { peers } = peer.status()
    const connected = new Set(peers.map((p) => normalizeChatAddress(p.address)))
    const room = maxLinks - peers.length - peer.metrics().dialsInFlight
    const due = [...known].filter(([address]) => !connected.has(address)).map(([address, validator]) => ({ address, validator }))
    let started = 0
    for (const { address } of dialOrder(due, Math.random).slice(0, Math.max(0, room))) {
      started++
      // A failed dial is already rescheduled by the address book; nothing more to do here.
      peer.chatWithPeer(address).catch(() => undefined)
    }
    return started
  }

  const visibility = options.visibility ?? (typeof document === 'undefined' ? undefined : document)
  const onVisibility = (): void => {
    if (visibility?.visibilityState === 'visible') kickRedial()
  }
  visibility?.addEventListener('visibilitychange', onVisibility)

  return {
    peer,
    connect,
    persistentKey: key.persistent,
    storage: tabLedger.storage,
    refusals: () => kept,
    refusalCounts: () => ({ ...counts }),
    onLinkEnd(listener) {
      endListeners.add(listener)
      return () => endListeners.delete(listener)
    },
    kickRedial,
    flood(peerId, count) {
      if (!Number.isSafeInteger(count) || count < 1 || count > MAX_FLOOD_MESSAGES) {
        throw new RangeError(`flood count must be 1-${MAX_FLOOD_MESSAGES}, got ${count}`)
      }
      let firstTxid = ''
      for (let i = 0; i < count; i++) {
        const tx = { txid: randomTxid(), payload: `flood/${i}`, timestamp: Date.now(), origin: peer.id }
        if (i === 0) firstTxid = tx.txid
        // unicast throws PeerNotFoundError for an unknown or disconnected peer: let it reach the caller.
        peer.unicast(makeEnvelope(MessageType.CHAIN_TRANSACTION, tx, tx.timestamp), peerId)
      }
      return { sent: count, firstTxid }
    },
    async stop() {
      visibility?.removeEventListener('visibilitychange', onVisibility)
      unsubscribe()
      stopRefusals()
      await peer.stop()
      await tabLedger.close()
      endListeners.clear()
    },
  }
}

/**
 * Whether a stored chain is the one the Node peer at `base` follows: its block at the lower of the
 * two heads must hash the same on both sides. undefined when the peer cannot be asked (kept, and
 * the catch-up says more later).
 */
/**
 * A Node peer's `GET /membership` answer: `{"mode":"open"}` (undefined: nothing to verify against)
 * or `{"mode":"closed","validators":[...]}`; anything else is refused with a ConfigError.
 */
export function membershipFromAnswer(answer: unknown, source: string): Membership | undefined {
  if (typeof answer === 'object' && answer !== null && (answer as { mode?: unknown }).mode === 'open') return undefined
  if (typeof answer !== 'object' || answer === null || (answer as { mode?: unknown }).mode !== 'closed') {
    throw new ConfigError(`${source}: not a membership answer (expected mode "open" or "closed")`)
  }
  return validateMembership({ validators: (answer as { validators?: unknown }).validators }, source)
}

/** The membership option resolved: fetched from the Node peer's `/membership` when asked to. */
async function tabMembership(option: Membership | 'fetch' | 'none', connect: string, log: Logger): Promise<Membership | undefined> {
  if (option === 'none') return undefined
  if (option !== 'fetch') return option
  const base = httpBaseOf(connect)!
  try {
    const res = await fetch(`${base}/membership`, { signal: AbortSignal.timeout(MEMBERSHIP_FETCH_TIMEOUT_MS) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return membershipFromAnswer(await res.json(), `${base}/membership`)
  } catch (err) {
    log.warn('could not load the membership: blocks will not be verified against validators\' signatures', { base, error: describeError(err) })
    return undefined
  }
}

async function sameHistory(base: string, ledger: Ledger, log: Logger): Promise<boolean | undefined> {
  try {
    const chain = (await (await fetch(`${base}/chain`, { signal: AbortSignal.timeout(SAME_HISTORY_TIMEOUT_MS) })).json()) as { height: number; headHash: string }
    const n = Math.min(ledger.height(), chain.height) - 1
    if (n === chain.height - 1) return chain.headHash === toHex(ledger.blockHash(n)!)
    const res = await fetch(`${base}/blocks/${n}`, { signal: AbortSignal.timeout(SAME_HISTORY_TIMEOUT_MS) })
    if (!res.ok) return undefined
    return ((await res.json()) as { hash: string }).hash === toHex(ledger.blockHash(n)!)
  } catch (err) {
    log.warn('could not compare the stored chain with the network; keeping it', { base, error: describeError(err) })
    return undefined
  }
}
