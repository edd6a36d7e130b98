/**
 * Time as a dependency. Everything in the core that waits (discovery, keepalive, backoff, batch
 * timers) takes a Clock, so tests and the PBFT simulation can drive time by hand instead of
 * sleeping.
 */
export type TimerHandle = { readonly __timer: unique symbol } | number | object

export interface Clock {
  /** Milliseconds since the Unix epoch (or since the start of a simulation). */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]),
}

interface ManualTimer {
  id: number
  at: number
  fn: () => void
}

/** A clock that only moves when told to; timers fire in deadline order, then creation order. */
export class ManualClock implements Clock {
  #now: number
  #nextId = 1
  #timers = new Map<number, ManualTimer>()

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn }
    this.#timers.set(timer.id, timer)
    return timer.id
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number)
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size
  }

  /** Moves time forward by `ms`, firing every timer that falls due, including ones set meanwhile. */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      let next: ManualTimer | undefined
      for (const timer of this.#timers.values()) {
        if (timer.at <= end && (next === undefined || timer.at < next.at)) next = timer
      }
      if (next === undefined) break
      this.#timers.delete(next.id)
      this.#now = next.at
      next.fn()
    }
    this.#now = end
  }
}
