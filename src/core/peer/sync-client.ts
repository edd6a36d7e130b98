import { AbortError, TimeoutError } from '../errors.js'
import type { Clock, TimerHandle } from '../util/clock.js'

/**
 * Request/answer pairing for the sync messages (SYNC_GET_BLOCKS -> SYNC_BLOCKS, ...). Each request
 * gets a fresh requestId; the answer is accepted only from the peer that was asked and with the
 * expected type, so a stray or forged answer resolves nothing.
 */
interface PendingRequest {
  peerId: string
  answerType: number
  resolve: (payload: unknown) => void
  reject: (err: Error) => void
  timer: TimerHandle
  cleanup: () => void
}

export class SyncClient {
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #pending = new Map<number, PendingRequest>()
  #nextId = 1

  constructor(clock: Clock, timeoutMs: number) {
    this.#clock = clock
    this.#timeoutMs = timeoutMs
  }

  get pending(): number {
    return this.#pending.size
  }

  /** Sends a request through `send(requestId)` and resolves with the matching answer's payload. */
  request<T>(peerId: string, answerType: number, send: (requestId: number) => void, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new AbortError())
    const requestId = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => this.#settle(requestId, new AbortError(`request ${requestId} to ${peerId} aborted`))
      const timer = this.#clock.setTimeout(
        () => this.#settle(requestId, new TimeoutError(`no answer from ${peerId} within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      )
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#pending.set(requestId, {
        peerId,
        answerType,
        resolve: resolve as (payload: unknown) => void,
        reject,
        timer,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      })
      try {
        send(requestId)
      } catch (err) {
        this.#settle(requestId, err as Error)
      }
    })
  }

  /** An answer arrived; returns false when it matches no pending request from that peer. */
  resolve(requestId: number, answerType: number, fromPeerId: string, payload: unknown): boolean {
    const pending = this.#pending.get(requestId)
    if (pending === undefined || pending.peerId !== fromPeerId || pending.answerType !== answerType) return false
    this.#pending.delete(requestId)
    this.#clock.clearTimeout(pending.timer)
    pending.cleanup()
    pending.resolve(payload)
    return true
  }

  /** Fails every request to a peer whose link ended. */
  failPeer(peerId: string, error: Error): void {
    for (const [id, pending] of this.#pending) if (pending.peerId === peerId) this.#settle(id, error)
  }

  /** Fails everything (stop). */
  close(error: Error): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, error)
  }

  #settle(requestId: number, error: Error): void {
    const pending = this.#pending.get(requestId)
    if (pending === undefined) return
    this.#pending.delete(requestId)
    this.#clock.clearTimeout(pending.timer)
    pending.cleanup()
    pending.reject(error)
  }
}
