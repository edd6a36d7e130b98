/**
 * The addresses a peer knows and when to dial each again (Fabric kept a "known" list and redialed
 * it every touchPeriod; before it did, one glitch left peers apart for good: fabric#1851).
 *
 * Each address that is not connected gets a next-dial time from a capped exponential backoff with
 * jitter, so a network of peers that lost one another does not redial in lockstep. The book is
 * bounded; when full, new addresses are ignored (the ones we learned first are the bootstrap and
 * older, likelier-real peers).
 */
export interface AddressEntry {
  address: string
  /** Peer ID, once a HELLO on a link to this address told us. */
  id: string | undefined
  /** Whether the peer there is a validator, once a HELLO or a DISC_PEERS entry said; undefined until then. */
  validator: boolean | undefined
  /** Failed dials since the last success. */
  failures: number
  /**
   * Links closed for want of room (4005) in a row. Such a link registers before the peer refuses
   * it, which resets `failures`, so the backoff on a full peer counts these instead.
   */
  fullRefusals: number
  /** When it may be dialed next (clock ms); 0 = now. */
  nextDialAt: number
  connected: boolean
  dialing: boolean
}

/**
 * Delay before the next dial after `failures` failures: base * 2^(failures-1), capped at max,
 * with "equal jitter" (half fixed, half random) so retries spread out but never collapse to zero.
 */
export function redialDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (failures <= 0) return 0
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30))
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/** A chat URL we are willing to dial: ws: or wss:, with a host, no credentials, not too long. */
export function normalizeChatAddress(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 512) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if ((url.protocol !== 'ws:' && url.protocol !== 'wss:') || url.hostname === '' || url.username !== '' || url.password !== '') return undefined
  url.hash = ''
  return url.toString()
}

export class AddressBook {
  readonly #entries = new Map<string, AddressEntry>()
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  get size(): number {
    return this.#entries.size
  }

  get(address: string): AddressEntry | undefined {
    return this.#entries.get(address)
  }

  values(): IterableIterator<AddressEntry> {
    return this.#entries.values()
  }

  /**
   * Adds an address if there is room; returns its entry, or undefined when the book is full. A
   * role given (`validator`) replaces the one known: the newest word on it wins.
   */
  add(address: string, id?: string, validator?: boolean): AddressEntry | undefined {
    let entry = this.#entries.get(address)
    if (entry === undefined) {
      if (this.#entries.size >= this.#max) return undefined
      entry = { address, id, validator, failures: 0, fullRefusals: 0, nextDialAt: 0, connected: false, dialing: false }
      this.#entries.set(address, entry)
    } else {
      if (id !== undefined && entry.id === undefined) entry.id = id
      if (validator !== undefined) entry.validator = validator
    }
    return entry
  }

  /** The entry for a peer ID, if we know its address. */
  findById(id: string): AddressEntry | undefined {
    for (const entry of this.#entries.values()) if (entry.id === id) return entry
    return undefined
  }

  /** Entries due for a dial at `now`: not connected, not being dialed, backoff elapsed. */
  due(now: number): AddressEntry[] {
    const out: AddressEntry[] = []
    for (const entry of this.#entries.values()) {
      if (!entry.connected && !entry.dialing && entry.nextDialAt <= now) out.push(entry)
    }
    return out
  }
}
