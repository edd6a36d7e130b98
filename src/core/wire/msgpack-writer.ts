/**
 * The msgpack writer for the hot path (PBFT messages, and the transaction and block payloads of
 * payload-writer.ts): the few types they use, written straight into one reused
 * buffer, with the same bytes msgpackr (`useRecords: false`, `variableMapSize: true`) gives for
 * the same values: the smallest header, integers of 2^32 and more as float64 (msgpackr's choice),
 * digests as bin written from their hex. `finish()` copies out exactly the bytes written.
 *
 * In: values, one call each. Out: a fresh Uint8Array per message.
 *
 *   const w = new MsgpackWriter(); w.map(2); w.key('t'); w.str('p'); w.key('n'); w.uint(3)
 *   const bytes = w.finish()
 */
import { utf8Write } from '../util/utf8.js'
import { writeHex } from '../util/hex.js'

const TWO_32 = 2 ** 32

/** An ASCII string of at most 31 characters as a msgpack fixstr (map keys written or matched as bytes). */
export function asciiFixstr(text: string): Uint8Array {
  const out = new Uint8Array(1 + text.length)
  out[0] = 0xa0 | text.length
  for (let i = 0; i < text.length; i++) out[i + 1] = text.charCodeAt(i)
  return out
}
/** The buffer a writer starts with and keeps between messages (default 64 KiB). */
export const MSGPACK_WRITER_KEPT_BYTES = 64 * 1024
/**
 * ASCII strings shorter than this are written by hand, as a fixstr (a native UTF-8 write costs
 * more). It must stay 32: fixstr holds 0-31 bytes, and a 32-character txid written as one was read
 * back as an empty string followed by garbage.
 */
const SHORT_STRING = 32

export class MsgpackWriter {
  #buf = new Uint8Array(MSGPACK_WRITER_KEPT_BYTES)
  #view = new DataView(this.#buf.buffer)
  #pos = 0
  /** Where the message being written starts; what lies before it was handed out by finishShared. */
  #messageStart = 0

  #room(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return
    // A fresh buffer, never the old one grown in place: views finishShared handed out still read it.
    const length = this.#pos - this.#messageStart
    const next = new Uint8Array(Math.max(MSGPACK_WRITER_KEPT_BYTES, 2 * (length + bytes)))
    next.set(this.#buf.subarray(this.#messageStart, this.#pos))
    this.#buf = next
    this.#view = new DataView(next.buffer)
    this.#pos = length
    this.#messageStart = 0
  }

  /** The bytes written since the last finish, copied out; the writer is empty again. */
  finish(): Uint8Array {
    const out = this.#buf.slice(this.#messageStart, this.#pos)
    this.#pos = this.#messageStart
    // A huge message (a request list, a batch) must not pin its buffer for the life of the peer.
    if (this.#buf.length > MSGPACK_WRITER_KEPT_BYTES) {
      this.#buf = new Uint8Array(MSGPACK_WRITER_KEPT_BYTES)
      this.#view = new DataView(this.#buf.buffer)
      this.#pos = this.#messageStart = 0
    }
    return out
  }

  /**
   * The bytes written since the last finish, as a view of the writer's buffer, which later messages
   * never overwrite (they go after it, or into a fresh buffer). No copy: a copy is a new
   * ArrayBuffer, which V8 allocates outside its heap at about 0.4 us each, more than writing a
   * small message costs. The price: a view kept alive keeps its whole buffer (64 KiB, or its own
   * size for a larger message) alive, so this suits messages that are sent and dropped, as
   * msgpackr's `pack` does the same.
   */
  finishShared(): Uint8Array {
    const out = this.#buf.subarray(this.#messageStart, this.#pos)
    this.#messageStart = this.#pos
    return out
  }

  /** Drops what was written since the last finish (after a failed encode). */
  reset(): void {
    this.#pos = this.#messageStart
  }

  #header(count: number, fix: number, b16: number): void {
    this.#room(5)
    if (count < 16) this.#buf[this.#pos++] = fix | count
    else if (count < 0x10000) {
      this.#buf[this.#pos] = b16
      this.#view.setUint16(this.#pos + 1, count)
      this.#pos += 3
    } else {
      this.#buf[this.#pos] = b16 + 1
      this.#view.setUint32(this.#pos + 1, count)
      this.#pos += 5
    }
  }

  map(entries: number): void {
    this.#header(entries, 0x80, 0xde)
  }

  array(length: number): void {
    this.#header(length, 0x90, 0xdc)
  }

  nil(): void {
    this.#room(1)
    this.#buf[this.#pos++] = 0xc0
  }

  /** A non-negative safe integer. */
  uint(value: number): void {
    this.#room(9)
    const buf = this.#buf
    if (value < 0x80) buf[this.#pos++] = value
    else if (value < 0x100) {
      buf[this.#pos++] = 0xcc
      buf[this.#pos++] = value
    } else if (value < 0x10000) {
      buf[this.#pos] = 0xcd
      this.#view.setUint16(this.#pos + 1, value)
      this.#pos += 3
    } else if (value < TWO_32) {
      buf[this.#pos] = 0xce
      this.#view.setUint32(this.#pos + 1, value)
      this.#pos += 5
    } else {
      buf[this.#pos] = 0xcb
      this.#view.setFloat64(this.#pos + 1, value)
      this.#pos += 9
    }
  }

  /** A one-letter map key. */
  key(letter: string): void {
    this.#room(2)
    this.#buf[this.#pos++] = 0xa1
    this.#buf[this.#pos++] = letter.charCodeAt(0)
  }

  str(text: string): void {
    const length = text.length
    if (length < SHORT_STRING) {
      this.#room(1 + length)
      const buf = this.#buf
      const start = this.#pos
      let i = 0
      for (; i < length; i++) {
        const c = text.charCodeAt(i)
        if (c >= 0x80) break
        buf[start + 1 + i] = c
      }
      if (i === length) {
        buf[start] = 0xa0 | length
        this.#pos = start + 1 + length
        return
      }
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: reserve the header that bound needs, then
    // move the bytes down if the real length needs a shorter one.
    const most = length * 3
    const reserved = most < 32 ? 1 : most < 0x100 ? 2 : most < 0x10000 ? 3 : 5
    this.#room(reserved + most)
    const start = this.#pos
    const written = utf8Write(this.#buf, text, start + reserved)
    const needed = written < 32 ? 1 : written < 0x100 ? 2 : written < 0x10000 ? 3 : 5
    if (needed < reserved) this.#buf.copyWithin(start + needed, start + reserved, start + reserved + written)
    const buf = this.#buf
    if (needed === 1) buf[start] = 0xa0 | written
    else if (needed === 2) {
      buf[start] = 0xd9
      buf[start + 1] = written
    } else if (needed === 3) {
      buf[start] = 0xda
      this.#view.setUint16(start + 1, written)
    } else {
      buf[start] = 0xdb
      this.#view.setUint32(start + 1, written)
    }
    this.#pos = start + needed + written
  }

  /** Bytes as a bin. */
  bin(bytes: Uint8Array): void {
    const length = bytes.byteLength
    this.#room(5 + length)
    const buf = this.#buf
    if (length < 0x100) {
      buf[this.#pos] = 0xc4
      buf[this.#pos + 1] = length
      this.#pos += 2
    } else if (length < 0x10000) {
      buf[this.#pos] = 0xc5
      this.#view.setUint16(this.#pos + 1, length)
      this.#pos += 3
    } else {
      buf[this.#pos] = 0xc6
      this.#view.setUint32(this.#pos + 1, length)
      this.#pos += 5
    }
    buf.set(bytes, this.#pos)
    this.#pos += length
  }

  /** A digest given as hex ('' = 0 bytes), as a bin. Throws TypeError when it is not hex. */
  digest(hex: string): void {
    const length = hex.length / 2
    if (!(length < 0x100)) throw new TypeError('digest too long')
    this.#room(2 + length)
    this.#buf[this.#pos] = 0xc4
    this.#buf[this.#pos + 1] = length
    if (writeHex(hex, this.#buf, this.#pos + 2) !== length) throw new TypeError('digest is not hex')
    this.#pos += 2 + length
  }
}
