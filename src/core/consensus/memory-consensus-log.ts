/**
 * A consensus log in memory, for tests and the simulator. By default a record is durable as soon
 * as it is appended. With `defer`, durability waits for the callback it schedules (the simulator
 * schedules it on virtual time), and `afterCrash()` gives what a restart would find: the records
 * made durable, without the unflushed tail, as a storage device that loses its write cache does.
 *
 *   const log = createMemoryConsensusLog({ defer: (fn) => scheduler.after(1, fn) })
 *   const restarted = log.afterCrash()
 */
import type { ConsensusLog } from './consensus-log.js'

export interface MemoryConsensusLogOptions {
  /** Schedules the flush of what was appended; by default it happens at once. */
  defer?: (flush: () => void) => void
  /** What an earlier incarnation left (afterCrash uses it). */
  segments?: readonly MemorySegment[]
}

export interface MemorySegment {
  readonly label: number
  readonly records: readonly Uint8Array[]
}

export interface MemoryConsensusLog extends ConsensusLog {
  /** The durable segments, oldest first. */
  segments(): MemorySegment[]
  /** A log holding only what is durable here: what a restart after a crash at this moment finds. */
  afterCrash(options?: Omit<MemoryConsensusLogOptions, 'segments'>): MemoryConsensusLog
}

export function createMemoryConsensusLog(options: MemoryConsensusLogOptions = {}): MemoryConsensusLog {
  return new MemoryLog(options)
}

interface Segment {
  label: number
  records: Uint8Array[]
}

type Pending =
  | { kind: 'append'; records: readonly Uint8Array[]; durable: () => void }
  | { kind: 'rotate'; label: number; snapshot: readonly Uint8Array[]; dropBelow: number }

class MemoryLog implements MemoryConsensusLog {
  readonly loaded: readonly Uint8Array[]
  readonly loadedLabel: number
  readonly #defer: ((flush: () => void) => void) | undefined
  readonly #durable: Segment[]
  #pending: Pending[] = []
  #scheduled = false
  #closed = false

  constructor(options: MemoryConsensusLogOptions) {
    this.#defer = options.defer
    this.#durable = (options.segments ?? []).map((s) => ({ label: s.label, records: [...s.records] }))
    this.loaded = this.#durable.flatMap((s) => s.records)
    this.loadedLabel = this.#durable.at(-1)?.label ?? 0
  }

  append(records: readonly Uint8Array[], durable: () => void): void {
    if (this.#closed) return
    this.#pending.push({ kind: 'append', records: records.map((r) => r.slice()), durable })
    this.#schedule()
  }

  rotate(label: number, snapshot: readonly Uint8Array[], dropBelow: number): void {
    if (this.#closed) return
    this.#pending.push({ kind: 'rotate', label, snapshot: snapshot.map((r) => r.slice()), dropBelow })
    this.#schedule()
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#flush()
    this.#closed = true
  }

  segments(): MemorySegment[] {
    return this.#durable.map((s) => ({ label: s.label, records: [...s.records] }))
  }

  afterCrash(options: Omit<MemoryConsensusLogOptions, 'segments'> = {}): MemoryConsensusLog {
    return new MemoryLog({ ...options, segments: this.segments() })
  }

  #schedule(): void {
    if (this.#defer === undefined) {
      this.#flush()
      return
    }
    if (this.#scheduled) return
    this.#scheduled = true
    this.#defer(() => {
      this.#scheduled = false
      if (!this.#closed) this.#flush()
    })
  }

  #flush(): void {
    const pending = this.#pending
    this.#pending = []
    const done: (() => void)[] = []
    for (const op of pending) {
      if (op.kind === 'append') {
        if (this.#durable.length === 0) this.#durable.push({ label: 0, records: [] })
        this.#durable[this.#durable.length - 1]!.records.push(...op.records)
        done.push(op.durable)
      } else {
        this.#durable.push({ label: op.label, records: [...op.snapshot] })
        for (let i = this.#durable.length - 2; i >= 0; i--) if (this.#durable[i]!.label < op.dropBelow) this.#durable.splice(i, 1)
      }
    }
    for (const fn of done) fn()
  }
}
