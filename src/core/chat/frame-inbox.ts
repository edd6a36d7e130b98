import { TransportError } from '../errors.js'
import type { ChatStreamEnd } from './chat-stream.js'

/**
 * The receive side shared by every ChatStream implementation: frames are pushed in by the
 * transport's event handlers and pulled out by one async iterator. After the end is recorded, the
 * frames already received are still delivered, then iteration returns (clean end) or throws
 * TransportError (error end).
 */
export class FrameInbox implements AsyncIterable<Uint8Array> {
  #frames: Uint8Array[] = []
  #head = 0
  #bytes = 0
  #end: ChatStreamEnd | undefined
  #endCause: unknown
  #wake: (() => void) | undefined
  #iterating = false

  /** Bytes received and not yet taken by the iterator. */
  get bufferedBytes(): number {
    return this.#bytes
  }

  get ended(): boolean {
    return this.#end !== undefined
  }

  push(frame: Uint8Array): void {
    if (this.#end !== undefined) return
    this.#frames.push(frame)
    this.#bytes += frame.byteLength
    this.#wakeUp()
  }

  end(end: ChatStreamEnd, cause?: unknown): void {
    if (this.#end !== undefined) return
    this.#end = end
    this.#endCause = cause
    this.#wakeUp()
  }

  #wakeUp(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  #take(): Uint8Array | undefined {
    if (this.#head >= this.#frames.length) return undefined
    const frame = this.#frames[this.#head]!
    this.#frames[this.#head] = undefined as unknown as Uint8Array
    this.#head++
    // Compact now and then so a long-lived link does not keep a growing array of holes.
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head)
      this.#head = 0
    }
    this.#bytes -= frame.byteLength
    return frame
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.#iterating) throw new TypeError('a chat stream supports only one iterator')
    this.#iterating = true
    for (;;) {
      const frame = this.#take()
      if (frame !== undefined) {
        yield frame
        continue
      }
      const end = this.#end
      if (end !== undefined) {
        if (!end.error) return
        throw new TransportError(
          `chat stream ended with close code ${end.code}${end.reason === '' ? '' : ` (${end.reason})`}`,
          { cause: this.#endCause, remoteCloseCode: end.local ? undefined : end.code },
        )
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
    }
  }
}
