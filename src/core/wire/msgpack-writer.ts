/**
 * wspeer's one msgpack writer, for the values it writes by hand: frames (codec.ts), PBFT messages
 * (consensus/pbft/messages.ts) and the payloads every transaction pays for (payload-writer.ts).
 * A general encoder (msgpackr) looks up every object's keys and dispatches on every value's type;
 * these fixed shapes need neither, and written by hand they cost a fraction of it.
 *
 * Every form is the one msgpackr (`useRecords: false`, `variableMapSize: true`, as payloads.ts
 * configures it) writes for the same value, so one test of the bytes covers all of wspeer's
 * output (msgpack-writer.test.ts, seeded): the shortest header, and a number outside 32 bits as a
 * float 64, as msgpackr writes every integer of 2^32 and more (it never writes uint 64 for a
 * number). Integers up to 2^53 are exact in a float 64, and every reader takes any number format.
 *
 * Two levels over the same header writers:
 * - write*At: one token into a caller's buffer at a position, returning the position after it, for
 *   an encoder that sizes its output exactly first (the *Bytes functions) and allocates once;
 * - MsgpackWriter: a cursor over one reused buffer, for messages whose size is not known ahead.
 *
 *   const w = new MsgpackWriter(); w.map(2); w.key('t'); w.str('p'); w.key('n'); w.uint(3)
 *   const bytes = w.finish()
 */
import { utf8Write } from '../util/utf8.js'
import { writeHex } from '../util/hex.js'

const TWO_32 = 2 ** 32

// ---- sizes ----

/** Bytes writeUintAt takes for a non-negative safe integer. */
export function uintBytes(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < TWO_32 ? 5 : 9
}

/** Bytes of a str header for `length` UTF-8 bytes. */
export function strHeaderBytes(length: number): number {
  return length < 32 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
}

/** Bytes of a bin header for `length` bytes. */
export function binHeaderBytes(length: number): number {
  return length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
}

/** Bytes of an array or map header for `count` elements or entries. */
export function containerHeaderBytes(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5
}

// ---- tokens at a position ----
// Uint8Array stores keep the low 8 bits of what they are given, so no byte below is masked.

// One small function per header width, so each call site's common case inlines.

function tag8(out: Uint8Array, pos: number, tag: number, n: number): number {
  out[pos] = tag
  out[pos + 1] = n
  return pos + 2
}

function tag16(out: Uint8Array, pos: number, tag: number, n: number): number {
  out[pos] = tag
  out[pos + 1] = n >>> 8
  out[pos + 2] = n
  return pos + 3
}

function tag32(out: Uint8Array, pos: number, tag: number, n: number): number {
  out[pos] = tag
  out[pos + 1] = n >>> 24
  out[pos + 2] = n >>> 16
  out[pos + 3] = n >>> 8
  out[pos + 4] = n
  return pos + 5
}

const float64 = new Float64Array(1)
const float64Bytes = new Uint8Array(float64.buffer)
/** Index of a double's most significant byte in memory: 7 where the platform is little-endian. */
const HIGH = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 7 : 0

/** A non-negative safe integer in its shortest form (float 64 from 2^32 on, as msgpackr writes it). */
export function writeUintAt(out: Uint8Array, pos: number, n: number): number {
  if (n < 0x80) {
    out[pos] = n
    return pos + 1
  }
  if (n < 0x100) return tag8(out, pos, 0xcc, n)
  if (n < 0x10000) return tag16(out, pos, 0xcd, n)
  if (n < TWO_32) return tag32(out, pos, 0xce, n)
  out[pos] = 0xcb
  // Through a one-element Float64Array, its bytes copied high first: about as fast as a DataView
  // over `out` (which an exactly sized buffer does not have), several times faster than a
  // DataView over a scratch buffer, or than building the bits by arithmetic (Math.pow).
  float64[0] = n
  const b = float64Bytes
  out[pos + 1] = b[HIGH] as number
  out[pos + 2] = b[HIGH ^ 1] as number
  out[pos + 3] = b[HIGH ^ 2] as number
  out[pos + 4] = b[HIGH ^ 3] as number
  out[pos + 5] = b[HIGH ^ 4] as number
  out[pos + 6] = b[HIGH ^ 5] as number
  out[pos + 7] = b[HIGH ^ 6] as number
  out[pos + 8] = b[HIGH ^ 7] as number
  return pos + 9
}

/** The header of a str of `length` UTF-8 bytes. */
export function writeStrHeaderAt(out: Uint8Array, pos: number, length: number): number {
  if (length < 32) {
    out[pos] = 0xa0 | length
    return pos + 1
  }
  return length < 0x100 ? tag8(out, pos, 0xd9, length) : length < 0x10000 ? tag16(out, pos, 0xda, length) : tag32(out, pos, 0xdb, length)
}

/** The header of a bin of `length` bytes. */
export function writeBinHeaderAt(out: Uint8Array, pos: number, length: number): number {
  return length < 0x100 ? tag8(out, pos, 0xc4, length) : length < 0x10000 ? tag16(out, pos, 0xc5, length) : tag32(out, pos, 0xc6, length)
}

/** A bin header and the bytes. */
export function writeBinAt(out: Uint8Array, pos: number, bytes: Uint8Array): number {
  const start = writeBinHeaderAt(out, pos, bytes.byteLength)
  out.set(bytes, start)
  return start + bytes.byteLength
}

/** An array header (`fix` 0x90, `first` sized tag 0xdc) or a map header (0x80, 0xde). */
function containerHeader(out: Uint8Array, pos: number, count: number, fix: number, first: number): number {
  if (count < 16) {
    out[pos] = fix | count
    return pos + 1
  }
  return count < 0x10000 ? tag16(out, pos, first, count) : tag32(out, pos, first + 1, count)
}

export function writeArrayHeaderAt(out: Uint8Array, pos: number, count: number): number {
  return containerHeader(out, pos, count, 0x90, 0xdc)
}

export function writeMapHeaderAt(out: Uint8Array, pos: number, entries: number): number {
  return containerHeader(out, pos, entries, 0x80, 0xde)
}

/** An ASCII string of at most 31 characters as a msgpack fixstr (map keys written or matched as bytes). */
export function asciiFixstr(text: string): Uint8Array {
  const out = new Uint8Array(1 + text.length)
  writeStrHeaderAt(out, 0, text.length)
  for (let i = 0; i < text.length; i++) out[i + 1] = text.charCodeAt(i)
  return out
}

// ---- the cursor ----

/** The buffer a writer starts with and keeps between messages (default 64 KiB). */
export const MSGPACK_WRITER_KEPT_BYTES = 64 * 1024
/**
 * ASCII strings shorter than this are written by hand, as a fixstr (a native UTF-8 write costs
 * more). It must stay 32: fixstr holds 0-31 bytes, and a 32-character txid written as one was read
 * back as an empty string followed by garbage.
 */
const SHORT_STRING = 32

/** Writes values one call each into one reused buffer; `finish()` copies out exactly the bytes written. */
export class MsgpackWriter {
  #buf = new Uint8Array(MSGPACK_WRITER_KEPT_BYTES)
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

  map(entries: number): void {
    this.#room(5)
    this.#pos = writeMapHeaderAt(this.#buf, this.#pos, entries)
  }

  array(length: number): void {
    this.#room(5)
    this.#pos = writeArrayHeaderAt(this.#buf, this.#pos, length)
  }

  nil(): void {
    this.#room(1)
    this.#buf[this.#pos++] = 0xc0
  }

  /** A non-negative safe integer. */
  uint(value: number): void {
    this.#room(9)
    this.#pos = writeUintAt(this.#buf, this.#pos, value)
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
        this.#pos = writeStrHeaderAt(buf, start, length) + length
        return
      }
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: reserve the header that bound needs, then
    // move the bytes down if the real length needs a shorter one.
    const most = length * 3
    const reserved = strHeaderBytes(most)
    this.#room(reserved + most)
    const buf = this.#buf
    const start = this.#pos
    const written = utf8Write(buf, text, start + reserved)
    const needed = strHeaderBytes(written)
    if (needed < reserved) buf.copyWithin(start + needed, start + reserved, start + reserved + written)
    this.#pos = writeStrHeaderAt(buf, start, written) + written
  }

  /** Bytes as a bin. */
  bin(bytes: Uint8Array): void {
    this.#room(5 + bytes.byteLength)
    this.#pos = writeBinAt(this.#buf, this.#pos, bytes)
  }

  /** A digest given as hex ('' = 0 bytes), as a bin. Throws TypeError when it is not hex. */
  digest(hex: string): void {
    const length = hex.length / 2
    if (!(length < 0x100)) throw new TypeError('digest too long')
    this.#room(2 + length)
    const start = writeBinHeaderAt(this.#buf, this.#pos, length)
    if (writeHex(hex, this.#buf, start) !== length) throw new TypeError('digest is not hex')
    this.#pos = start + length
  }
}
