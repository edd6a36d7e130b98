/**
 * The per-connection consensus queue (Fabric's buffered channel of `consensus.buffersize`).
 * The consensus handler `push`es each CONSENSUS envelope of one link; the message fan `shift`s
 * them out towards the engine loop. A push never blocks and never grows the queue past its
 * bounds: it throws QueueFullError instead, so a flooding peer costs bounded memory and every
 * other peer's messages still flow. Unlike Fabric's channel it is closed when its link ends, which
 * lets the fan drop it once drained instead of leaking it.
 *
 *   const queue = new BoundedQueue({ name: peerId, maxMessages: 1000, maxBytes: 16 << 20 })
 *   queue.push({ envelope, sender: peerId, bytes: envelopeBytes(envelope) })
 */
import type { Envelope } from '../wire/envelope.js'
import { QueueClosedError, QueueFullError } from '../errors.js'

export interface QueuedMessage {
  envelope: Envelope
  sender: string
  /** What the message counts against the queue's byte bound; see `envelopeBytes`. */
  bytes: number
}

export interface BoundedQueueOptions {
  /** The peer ID of the link; it names the queue in errors. */
  name: string
  /** Messages held at most (Fabric's `consensus.buffersize`; default DEFAULT_QUEUE_MAX_MESSAGES). */
  maxMessages: number
  /** Bytes held at most (default DEFAULT_QUEUE_MAX_BYTES); a count bound alone lets 1000 big frames through. */
  maxBytes: number
}

/** The bytes an envelope counts against a queue: its payload plus its signature. */
export function envelopeBytes(envelope: Envelope): number {
  return envelope.payload.byteLength + (envelope.signature?.byteLength ?? 0)
}

/** Slots a ring starts with; it doubles on demand, so an idle link costs little. */
export const RING_INITIAL_CAPACITY = 16

/**
 * A FIFO over a power-of-two circular array: O(1) push and shift without Array#shift's copying.
 * Shared by the queue (its messages) and the fan (its ready queues); not part of the public API.
 */
export class Ring<T> {
  #items: (T | undefined)[]
  #mask: number
  #head = 0
  #length = 0

  constructor(initialCapacity = RING_INITIAL_CAPACITY) {
    let capacity = 1
    while (capacity < initialCapacity) capacity *= 2
    this.#items = Ring.#slots<T>(capacity)
    this.#mask = capacity - 1
  }

  get length(): number {
    return this.#length
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow()
    this.#items[(this.#head + this.#length) & this.#mask] = item
    this.#length++
  }

  /** Calls `visit` on each item, first to last. */
  forEach(visit: (item: T) => void): void {
    for (let i = 0; i < this.#length; i++) visit(this.#items[(this.#head + i) & this.#mask] as T)
  }

  /** The item shift() would return, left in place. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head]
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined
    const item = this.#items[this.#head]
    // Drop the slot's reference so a drained message can be collected.
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) & this.#mask
    this.#length--
    return item
  }

  clear(): void {
    this.#items.fill(undefined)
    this.#head = 0
    this.#length = 0
  }

  #grow(): void {
    const old = this.#items
    const next = Ring.#slots<T>(old.length * 2)
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask]
    this.#items = next
    this.#mask = next.length - 1
    this.#head = 0
  }

  /** Filled by push rather than `new Array(n)` so V8 keeps the array packed (faster access). */
  static #slots<T>(n: number): (T | undefined)[] {
    const slots: (T | undefined)[] = []
    for (let i = 0; i < n; i++) slots.push(undefined)
    return slots
  }
}

export class BoundedQueue {
  readonly name: string
  readonly maxMessages: number
  readonly maxBytes: number
  /**
   * Called synchronously when the queue goes from empty to non-empty, and once on close. A queue
   * belongs to at most one fan, which sets this.
   */
  onReadable: (() => void) | undefined = undefined
  /**
   * Called once when a queue that refused a push has drained to half of both bounds: the link
   * stopped reading when it filled, and this is its cue to read again.
   */
  onDrained: (() => void) | undefined = undefined

  #refusedSinceDrain = false
  #ring = new Ring<QueuedMessage>()
  #bytes = 0
  #rejects = 0
  #closed = false

  constructor(options: BoundedQueueOptions) {
    for (const key of ['maxMessages', 'maxBytes'] as const) {
      const value = options[key]
      if (!Number.isSafeInteger(value) || value <= 0) {
        throw new RangeError(`${key} must be a positive integer, got ${String(value)}`)
      }
    }
    this.name = options.name
    this.maxMessages = options.maxMessages
    this.maxBytes = options.maxBytes
  }

  get length(): number {
    return this.#ring.length
  }

  get bytes(): number {
    return this.#bytes
  }

  /** Pushes refused because a bound would have been passed (not those refused after close). */
  get rejects(): number {
    return this.#rejects
  }

  get closed(): boolean {
    return this.#closed
  }

  /**
   * Never blocks. Throws QueueFullError ("Message channel for <name> full, rejecting") when either
   * bound would be passed, counting the reject; throws QueueClosedError after close().
   */
  push(msg: QueuedMessage): void {
    if (this.#closed) throw new QueueClosedError(`message queue for ${this.name}`)
    const length = this.#ring.length
    if (length >= this.maxMessages || this.#bytes + msg.bytes > this.maxBytes) {
      this.#rejects++
      this.#refusedSinceDrain = true
      throw new QueueFullError(this.name)
    }
    this.#ring.push(msg)
    this.#bytes += msg.bytes
    if (length === 0) this.onReadable?.()
  }

  /** The next message, left in the queue. */
  peek(): QueuedMessage | undefined {
    return this.#ring.peek()
  }

  shift(): QueuedMessage | undefined {
    const msg = this.#ring.shift()
    if (msg === undefined) return undefined
    this.#bytes -= msg.bytes
    if (this.#refusedSinceDrain && this.#ring.length * 2 <= this.maxMessages && this.#bytes * 2 <= this.maxBytes) {
      this.#refusedSinceDrain = false
      this.onDrained?.()
    }
    return msg
  }

  /** No more pushes; what the queue holds can still be shifted. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.onReadable?.()
  }
}
