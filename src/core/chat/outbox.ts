import { MessageTooLargeError, SendBufferFullError, StreamClosedError } from '../errors.js'
import type { Envelope } from '../wire/envelope.js'
import { FRAME_HEADER_MAX_BYTES, encodeFrame, envelopeWireSize } from '../wire/codec.js'
import { scheduleMacrotask } from '../util/schedule.js'
import type { ChatStream } from './chat-stream.js'
import { closeReasonOf } from './close-reason.js'

/**
 * The send side of one link. Envelopes sent during one event-loop task are coalesced into one
 * frame (measured here: per-write cost dominates, about 3x more messages/s batched), cut early
 * when a frame reaches `maxEnvelopesPerFrame` or `targetFrameBytes`.
 *
 * A broadcast queues the same envelope objects on several links, which then flush the same list in
 * the same task: the last frame encoded is kept until the end of that task and reused when the
 * next flush holds the very same envelopes in the same order (frames are never changed after they
 * are sent). A replica broadcasting to its validators then encodes each frame once.
 *
 * Back-pressure: the bytes the transport has not sent yet plus what waits here may not pass
 * `sendBufferCapBytes`; past it the remote is not reading, the link is closed with 4002 and the
 * send throws SendBufferFullError. Other links are unaffected.
 */
export interface OutboxOptions {
  /** An envelope that alone would make a frame larger than this is refused (the receiver would close with 1009). */
  maxFrameBytes: number
  maxEnvelopesPerFrame: number
  targetFrameBytes: number
  sendBufferCapBytes: number
  /** Called after each frame goes out, with its envelopes. */
  onFrameSent?: (envelopes: readonly Envelope[], bytes: number) => void
  /** Called when the cap is passed, before the link is closed. */
  onOverflow?: (error: SendBufferFullError) => void
}

/** The last frame encoded, with its envelopes; kept until the task that encoded it ends. */
let lastEnvelopes: readonly Envelope[] | undefined
let lastFrame: Uint8Array | undefined
let forgetScheduled = false

function forgetLastFrame(): void {
  lastEnvelopes = undefined
  lastFrame = undefined
  forgetScheduled = false
}

function sameEnvelopes(a: readonly Envelope[], b: readonly Envelope[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** encodeFrame, reusing the previous frame when the envelopes are the same objects. */
function frameOf(envelopes: readonly Envelope[]): Uint8Array {
  if (lastFrame !== undefined && sameEnvelopes(envelopes, lastEnvelopes)) return lastFrame
  const frame = encodeFrame(envelopes)
  lastEnvelopes = envelopes
  lastFrame = frame
  if (!forgetScheduled) {
    forgetScheduled = true
    scheduleMacrotask(forgetLastFrame)
  }
  return frame
}

export class Outbox {
  readonly #stream: ChatStream
  readonly #options: OutboxOptions
  #pending: Envelope[] = []
  #pendingBytes = 0
  #scheduled = false

  constructor(stream: ChatStream, options: OutboxOptions) {
    this.#stream = stream
    this.#options = options
  }

  /** Envelopes waiting for the next flush. */
  get pending(): number {
    return this.#pending.length
  }

  /**
   * Bytes not yet sent: what the transport still buffers plus what waits here for the next flush.
   * The same sum the send-buffer cap is checked against, so a sender can hold back what is only
   * worth sending to a remote that keeps up (peer/best-effort.ts) well before the cap closes it.
   */
  get backlogBytes(): number {
    return this.#stream.bufferedAmount + this.#pendingBytes
  }

  send(envelope: Envelope): void {
    if (this.#stream.closed) throw new StreamClosedError()
    const size = envelopeWireSize(envelope)
    if (size + FRAME_HEADER_MAX_BYTES > this.#options.maxFrameBytes) {
      throw new MessageTooLargeError(size + FRAME_HEADER_MAX_BYTES, this.#options.maxFrameBytes)
    }
    const buffered = this.backlogBytes + size
    if (buffered > this.#options.sendBufferCapBytes) this.#overflow(buffered)
    // Cut before this envelope if adding it would pass the frame limit, after it once the target is reached.
    if (this.#pending.length > 0 && this.#pendingBytes + size + FRAME_HEADER_MAX_BYTES > this.#options.maxFrameBytes) this.flush()
    this.#pending.push(envelope)
    this.#pendingBytes += size
    if (this.#pending.length >= this.#options.maxEnvelopesPerFrame || this.#pendingBytes >= this.#options.targetFrameBytes) {
      this.flush()
    } else if (!this.#scheduled) {
      this.#scheduled = true
      scheduleMacrotask(this.#flushScheduled)
    }
  }

  /**
   * Throws what send() would (StreamClosedError, or SendBufferFullError after closing with 4002)
   * when no answer can go out: the stream is closed, or the bytes waiting already fill the cap.
   * Handlers call it before building a large answer, so a remote that stopped reading does not
   * have megabytes encoded for it only to be refused (issue #19).
   */
  ensureRoom(): void {
    if (this.#stream.closed) throw new StreamClosedError()
    const buffered = this.backlogBytes
    if (buffered >= this.#options.sendBufferCapBytes) this.#overflow(buffered)
  }

  #overflow(buffered: number): never {
    const error = new SendBufferFullError(buffered, this.#options.sendBufferCapBytes)
    this.#pending = []
    this.#pendingBytes = 0
    this.#options.onOverflow?.(error)
    this.#stream.close(error.closeCode, closeReasonOf(error))
    throw error
  }

  readonly #flushScheduled = (): void => {
    this.#scheduled = false
    this.flush()
  }

  /** Sends what is pending now. Errors of a stream that closed meanwhile are dropped: the link's end is reported elsewhere. */
  flush(): void {
    if (this.#pending.length === 0) return
    const envelopes = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    if (this.#stream.closed) return
    const frame = frameOf(envelopes)
    try {
      this.#stream.send(frame)
    } catch (err) {
      if (err instanceof StreamClosedError) return
      throw err
    }
    this.#options.onFrameSent?.(envelopes, frame.byteLength)
  }
}
