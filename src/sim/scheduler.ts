/**
 * The simulation's time and randomness: a virtual clock whose timers and message deliveries are
 * events in one queue, ordered by (time, insertion), and a seeded PRNG. Nothing here reads real
 * time, so a seed replays the same run exactly.
 *
 * In: `setTimeout` from the code under test (it is a Clock) and `at` from the simulated network.
 * Out: `step()` runs the next event and moves time to it.
 *
 *   const s = new Scheduler(); s.setTimeout(() => {}, 5); s.step() // now() === 5
 */
import type { Clock, TimerHandle } from '../core/util/clock.js'


interface SimEvent {
  at: number
  seq: number
  fn: () => void
  cancelled: boolean
}

export class Scheduler implements Clock {
  #now = 0
  #seq = 0
  readonly #heap: SimEvent[] = []

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.at(this.#now + Math.max(0, ms), fn)
  }

  clearTimeout(handle: TimerHandle): void {
    ;(handle as SimEvent).cancelled = true
  }

  /** Schedules fn at an absolute virtual time (not before now). */
  at(time: number, fn: () => void): SimEvent {
    const event: SimEvent = { at: Math.max(time, this.#now), seq: this.#seq++, fn, cancelled: false }
    this.#push(event)
    return event
  }

  /** Time of the next live event, or undefined when none is left. */
  peek(): number | undefined {
    while (this.#heap.length > 0 && (this.#heap[0] as SimEvent).cancelled) this.#pop()
    return this.#heap[0]?.at
  }

  /** Runs the next event; false when the queue is empty. */
  step(): boolean {
    if (this.peek() === undefined) return false
    const event = this.#pop() as SimEvent
    this.#now = event.at
    event.fn()
    return true
  }

  /** Moves time to `time` when no event comes earlier. */
  advanceTo(time: number): void {
    if (time > this.#now) this.#now = time
  }

  #less(a: SimEvent, b: SimEvent): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }

  #push(event: SimEvent): void {
    const heap = this.#heap
    heap.push(event)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.#less(heap[i] as SimEvent, heap[parent] as SimEvent)) break
      ;[heap[i], heap[parent]] = [heap[parent] as SimEvent, heap[i] as SimEvent]
      i = parent
    }
  }

  #pop(): SimEvent | undefined {
    const heap = this.#heap
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && this.#less(heap[l] as SimEvent, heap[m] as SimEvent)) m = l
        if (r < heap.length && this.#less(heap[r] as SimEvent, heap[m] as SimEvent)) m = r
        if (m === i) break
        ;[heap[i], heap[m]] = [heap[m] as SimEvent, heap[i] as SimEvent]
        i = m
      }
    }
    return top
  }
}
