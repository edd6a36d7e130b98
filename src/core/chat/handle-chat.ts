import { DecodeError, FrameTooLargeError, TransportError, WspeerError, describeError } from '../errors.js'
import type { Envelope } from '../wire/envelope.js'
import { decodeFrame } from '../wire/codec.js'
import type { CodecLimits } from '../wire/codec-limits.js'
import { MessageType } from '../wire/message-type.js'
import { makeResponse } from '../wire/payloads.js'
import { ResponseStatus } from '../wire/payload-types.js'
import type { ChatStream, ChatStreamEnd } from './chat-stream.js'
import { CloseToken, closeReason, closeReasonOf } from './close-reason.js'

/**
 * handleChat: the one receive loop of a chat stream (Fabric's `handleChat`), on both sides of a
 * link. Frames come in from the ChatStream, are decoded into envelopes, and each envelope goes to
 * the handler made for this stream.
 *
 * - End of stream (a clean close) resolves: the chat is over, no error.
 * - A transport error (abnormal close, socket error) rejects with that TransportError.
 * - A handler error does not end the loop: the sender gets RESPONSE(FAILURE, reason, code) and it
 *   is counted. Unlike Fabric, which only logged it, so a sender never learned its message was
 *   refused. An error that carries a close code (a policy violation) does end the link with it.
 * - An undecodable frame or payload is answered the same way; after `maxDecodeErrors` of them the
 *   link is closed with 1007.
 * - The handler is stopped on every exit.
 */
export interface ChatHandler {
  /** Runs before the first frame is read; the dialing side says HELLO here. */
  start?(): void | Promise<void>
  handleMessage(envelope: Envelope): void | Promise<void>
  /** Always called once, however the chat ended. */
  stop(end: ChatStreamEnd | undefined): void
  /** Sends a reply to the remote (used for error responses). */
  reply(envelope: Envelope): void
  /** Sends whatever replies are still coalescing; called before handleChat closes the stream. */
  flush?(): void
}

export type HandlerFactory = (stream: ChatStream, initiated: boolean) => ChatHandler

export interface HandleChatOptions {
  /** Makes the handler for this stream (Fabric's HandlerFactory). */
  createHandler: HandlerFactory
  codecLimits?: Partial<CodecLimits>
  maxDecodeErrors: number
  /** Every inbound frame, before decoding (liveness, metrics). */
  onFrame?: (frame: Uint8Array) => void
  /** Every decoded envelope, before the handler (metrics). */
  onEnvelope?: (envelope: Envelope) => void
  /** A refused message or undecodable frame. */
  onError?: (error: WspeerError, envelope: Envelope | undefined) => void
}

function asWspeerError(err: unknown): WspeerError {
  if (err instanceof WspeerError) return err
  return new WspeerError('ERR_HANDLER', describeError(err), { cause: err })
}

/** `initiated` is true on the side that dialed; its handler says HELLO first. */
export async function handleChat(stream: ChatStream, initiated: boolean, options: HandleChatOptions): Promise<void> {
  const handler = options.createHandler(stream, initiated)
  let decodeErrors = 0
  let end: ChatStreamEnd | undefined

  const refuse = (error: WspeerError, envelope: Envelope | undefined): void => {
    options.onError?.(error, envelope)
    // Never answer a RESPONSE with a RESPONSE: two peers refusing each other would loop forever.
    if (envelope?.type === MessageType.RESPONSE) return
    try {
      handler.reply(
        makeResponse(ResponseStatus.FAILURE, error.message, {
          code: error.code,
          ...(envelope === undefined ? {} : { inReplyTo: envelope.type }),
        }),
      )
    } catch {
      // The link is closing; there is no one left to tell.
    }
  }

  try {
    await handler.start?.()
    for await (const frame of stream) {
      options.onFrame?.(frame)
      let envelopes: Envelope[]
      try {
        envelopes = decodeFrame(frame, options.codecLimits)
      } catch (err) {
        const error = err instanceof DecodeError || err instanceof FrameTooLargeError ? err : new DecodeError('undecodable frame', { cause: err })
        // A frame over the limit is answered by the close alone (1009, its token in the reason):
        // the transport refuses such frames unread, and this layer says the same (PROTOCOL.md 7.2).
        if (error instanceof FrameTooLargeError) options.onError?.(error, undefined)
        else refuse(error, undefined)
        if (++decodeErrors >= options.maxDecodeErrors || error instanceof FrameTooLargeError) {
          handler.flush?.()
          const prose = error instanceof FrameTooLargeError ? error.message : `${decodeErrors} undecodable frames; last: ${error.message}`
          stream.close(error.closeCode, closeReason(error.code, prose))
          throw error
        }
        continue
      }
      for (const envelope of envelopes) {
        options.onEnvelope?.(envelope)
        try {
          const pending = handler.handleMessage(envelope)
          if (pending !== undefined) await pending
        } catch (err) {
          const error = asWspeerError(err)
          refuse(error, envelope)
          // An undecodable payload counts like an undecodable frame: repeated offences close the link.
          if (error instanceof DecodeError) {
            if (++decodeErrors >= options.maxDecodeErrors) {
              handler.flush?.()
              stream.close(error.closeCode, closeReason(error.code, `${decodeErrors} undecodable messages; last: ${error.message}`))
              throw error
            }
            continue
          }
          if (error.closeCode !== undefined) {
            handler.flush?.()
            stream.close(error.closeCode, closeReasonOf(error))
            throw error
          }
        }
      }
    }
    end = await stream.done
  } catch (err) {
    // Not awaiting `done` here: a remote that ignores our close frame must not delay stop().
    if (!stream.closed) stream.close(1011, closeReason(CloseToken.INTERNAL, 'chat loop failed'))
    // Say why the chat ended: the code it was closed with and the error, not a bare 1006.
    end = {
      code: err instanceof TransportError ? (err.remoteCloseCode ?? 1006) : err instanceof WspeerError ? (err.closeCode ?? 1011) : 1011,
      reason: describeError(err),
      local: !(err instanceof TransportError),
      error: true,
    }
    if (err instanceof TransportError || err instanceof WspeerError) throw err
    throw new TransportError(describeError(err), { cause: err })
  } finally {
    handler.stop(end)
  }
}
