import { CloseCode, StreamClosedError } from '../errors.js'
import { CLEAN_CLOSE_CODES, type ChatStream, type ChatStreamEnd } from './chat-stream.js'
import { FrameInbox } from './frame-inbox.js'

/**
 * Two connected in-memory ChatStreams, for tests and simulations. Frames are copied (as a network
 * would) and delivered on a later microtask, in order; a close is delivered after every frame sent
 * before it. `fail()` ends both sides abnormally (1006), like a dropped TCP connection.
 */
export interface MemoryChatStream extends ChatStream {
  /** Ends the stream on both sides as a transport failure. */
  fail(reason?: string): void
}

interface Side {
  stream: MemoryChatStream
  inbox: FrameInbox
  closing: boolean
  resolveDone: (end: ChatStreamEnd) => void
  ended: boolean
}

export function createMemoryChatPair(names: { a?: string; b?: string } = {}): [MemoryChatStream, MemoryChatStream] {
  const sides: Side[] = []
  const make = (remote: string, index: 0 | 1): Side => {
    const inbox = new FrameInbox()
    let resolveDone!: (end: ChatStreamEnd) => void
    const done = new Promise<ChatStreamEnd>((resolve) => {
      resolveDone = resolve
    })
    const side: Side = { inbox, closing: false, resolveDone, ended: false, stream: undefined as unknown as MemoryChatStream }
    const other = (): Side => sides[1 - index]!
    const endSide = (target: Side, end: ChatStreamEnd): void => {
      if (target.ended) return
      target.ended = true
      target.closing = true
      target.inbox.end(end)
      target.resolveDone(end)
    }
    side.stream = {
      remote,
      bufferedAmount: 0,
      done,
      get closed() {
        return side.closing
      },
      send(frame: Uint8Array): void {
        if (side.closing) throw new StreamClosedError()
        const copy = frame.slice()
        const peer = other()
        queueMicrotask(() => peer.inbox.push(copy))
      },
      close(code: number = CloseCode.NORMAL, reason = ''): void {
        if (side.closing) return
        side.closing = true
        const peer = other()
        queueMicrotask(() => {
          endSide(side, { code, reason, local: true, error: false })
          endSide(peer, { code, reason, local: false, error: !CLEAN_CLOSE_CODES.has(code) })
        })
      },
      fail(reason = 'connection lost'): void {
        const peer = other()
        side.closing = true
        peer.closing = true
        queueMicrotask(() => {
          endSide(side, { code: CloseCode.ABNORMAL, reason, local: false, error: true })
          endSide(peer, { code: CloseCode.ABNORMAL, reason, local: false, error: true })
        })
      },
      [Symbol.asyncIterator]: () => inbox[Symbol.asyncIterator](),
    }
    return side
  }
  sides.push(make(names.b ?? 'memory:b', 0), make(names.a ?? 'memory:a', 1))
  return [sides[0]!.stream, sides[1]!.stream]
}
