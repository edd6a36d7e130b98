/**
 * A strict, allocation-light msgpack reader for PBFT messages (messages.ts says what they hold).
 * It reads only the types those messages use (map, array, str, bin, nil, non-negative integers)
 * and refuses everything else, so the hostile-input cases of a general decoder (extensions,
 * records, deep nesting, declared sizes larger than the input) cannot arise: the caller's fixed
 * schema decides the nesting, and every declared length is checked against the bytes left before
 * anything is allocated. One pass over the bytes replaces a structural scan, a general msgpack
 * decode and a schema check over the decoded tree.
 *
 * In: bytes. Out: values, one call per value; ReadError (messages without received content) on
 * anything unexpected, which the caller turns into a DecodeError naming the field.
 *
 *   const r = new MsgpackReader(bytes)
 *   const entries = r.map(); const key = r.key(); const n = r.uint()
 */
import { toHex } from '../../util/bytes.js'
import { utf8Read } from '../../util/utf8.js'

/** What went wrong while reading; its message quotes no received content. */
export class ReadError extends Error {
  override readonly name: string = 'ReadError'
}

const TWO_32 = 2 ** 32
/** Strings shorter than this are decoded by hand when ASCII (the native decoder's call costs more). */
const SHORT_STRING = 48
// Everything else goes through utf8Read: non-fatal like msgpackr (bad bytes become U+FFFD, so the
// text is always well-formed Unicode), and a leading U+FEFF is kept, since it is content.

// Floats are rare (only foreign encoders send integers as floats): read through one scratch view
// instead of a DataView per message.
const scratch = new DataView(new ArrayBuffer(8))

export class MsgpackReader {
  #b: Uint8Array
  #pos = 0

  constructor(bytes: Uint8Array = new Uint8Array(0)) {
    this.#b = bytes
  }

  /** Starts over on other bytes (one reader serves every message). */
  reset(bytes: Uint8Array): void {
    this.#b = bytes
    this.#pos = 0
  }

  /** Bytes not read yet. */
  get left(): number {
    return this.#b.length - this.#pos
  }

  #need(bytes: number): void {
    if (this.#pos + bytes > this.#b.length) throw new ReadError('truncated')
  }

  #u8(): number {
    if (this.#pos >= this.#b.length) throw new ReadError('truncated')
    return this.#b[this.#pos++] as number
  }

  #u16(): number {
    this.#need(2)
    const b = this.#b
    const p = this.#pos
    this.#pos = p + 2
    return ((b[p] as number) << 8) | (b[p + 1] as number)
  }

  #u32(): number {
    this.#need(4)
    const b = this.#b
    const p = this.#pos
    this.#pos = p + 4
    return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
  }

  /** The next `bytes` bytes through the scratch view (big-endian numbers of any kind). */
  #scratch(bytes: number): DataView {
    this.#need(bytes)
    for (let i = 0; i < bytes; i++) scratch.setUint8(i, this.#b[this.#pos + i] as number)
    this.#pos += bytes
    return scratch
  }

  /** A map header: its entry count (each entry takes 2 bytes at least, which bounds the count). */
  map(): number {
    const t = this.#u8()
    let count: number
    if (t >= 0x80 && t <= 0x8f) count = t & 0x0f
    else if (t === 0xde) count = this.#u16()
    else if (t === 0xdf) count = this.#u32()
    else throw new ReadError('not a map')
    if (count * 2 > this.left) throw new ReadError('truncated')
    return count
  }

  /** An array header: its element count, at most `max` (and at most the bytes left). */
  array(max: number): number {
    const t = this.#u8()
    let count: number
    if (t >= 0x90 && t <= 0x9f) count = t & 0x0f
    else if (t === 0xdc) count = this.#u16()
    else if (t === 0xdd) count = this.#u32()
    else throw new ReadError('not an array')
    if (count > max) throw new ReadError(`more than ${max} entries`)
    if (count > this.left) throw new ReadError('truncated')
    return count
  }

  /** Consumes a nil and returns true, or returns false and consumes nothing. */
  nil(): boolean {
    if (this.#pos < this.#b.length && this.#b[this.#pos] === 0xc0) {
      this.#pos++
      return true
    }
    return false
  }

  /** A non-negative safe integer, in any msgpack number encoding that holds one exactly. */
  uint(): number {
    const t = this.#u8()
    if (t < 0x80) return t
    let v: number
    switch (t) {
      case 0xcc:
        return this.#u8()
      case 0xcd:
        return this.#u16()
      case 0xce:
        return this.#u32()
      case 0xcf: {
        const hi = this.#u32()
        v = hi * TWO_32 + this.#u32()
        break
      }
      case 0xd0:
        v = this.#scratch(1).getInt8(0)
        break
      case 0xd1:
        v = this.#scratch(2).getInt16(0)
        break
      case 0xd2:
        v = this.#scratch(4).getInt32(0)
        break
      case 0xd3: {
        const view = this.#scratch(8)
        v = view.getInt32(0) * TWO_32 + view.getUint32(4)
        break
      }
      case 0xca:
        v = this.#scratch(4).getFloat32(0)
        break
      case 0xcb:
        v = this.#scratch(8).getFloat64(0)
        break
      default:
        throw new ReadError('not an integer')
    }
    if (!Number.isSafeInteger(v) || v < 0) throw new ReadError('not an integer in 0..2^53-1')
    return v
  }

  #strLength(): number {
    const t = this.#u8()
    if (t >= 0xa0 && t <= 0xbf) return t & 0x1f
    if (t === 0xd9) return this.#u8()
    if (t === 0xda) return this.#u16()
    if (t === 0xdb) return this.#u32()
    throw new ReadError('not a string')
  }

  /** A string of at most `maxBytes` UTF-8 bytes (and at least `minBytes`). */
  str(maxBytes: number, minBytes = 0): string {
    const length = this.#strLength()
    if (length > maxBytes) throw new ReadError(`longer than ${maxBytes} UTF-8 bytes`)
    if (length < minBytes) throw new ReadError('empty')
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    const b = this.#b
    if (length < SHORT_STRING) {
      // One flat string from char codes. Appending one character at a time made a chain of
      // partial strings (V8 cons strings from 13 characters on) that every later use as a map or
      // set key had to flatten again.
      const codes = new Array<number>(length)
      for (let i = 0; i < length; i++) {
        const c = b[start + i] as number
        if (c >= 0x80) return utf8Read(b, start, start + length)
        codes[i] = c
      }
      return String.fromCharCode.apply(null, codes)
    }
    return utf8Read(b, start, start + length)
  }

  /** A map key of one ASCII letter, as its char code; 0 for any other string (an unknown key). */
  key(): number {
    const length = this.#strLength()
    this.#need(length)
    const code = length === 1 ? (this.#b[this.#pos] as number) : 0
    this.#pos += length
    return code < 0x80 ? code : 0
  }

  /** A bin of at most `maxBytes` bytes, as a view into the input (not a copy). */
  bin(maxBytes: number): Uint8Array {
    const t = this.#u8()
    let length: number
    if (t === 0xc4) length = this.#u8()
    else if (t === 0xc5) length = this.#u16()
    else if (t === 0xc6) length = this.#u32()
    else throw new ReadError('not bytes')
    if (length > maxBytes) throw new ReadError(`more than ${maxBytes} bytes`)
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    return this.#b.subarray(start, start + length)
  }

  /** A bin of 32 bytes (or of 0 bytes when `orEmpty`), as lowercase hex ('' for 0 bytes). */
  digest(orEmpty: boolean): string {
    const t = this.#u8()
    let length: number
    if (t === 0xc4) length = this.#u8()
    else if (t === 0xc5) length = this.#u16()
    else if (t === 0xc6) length = this.#u32()
    else throw new ReadError('not bytes')
    if (length !== 32 && !(orEmpty && length === 0)) throw new ReadError(orEmpty ? 'not a digest of 32 or 0 bytes' : 'not a digest of 32 bytes')
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    return length === 0 ? '' : toHex(this.#b, start, start + length)
  }
}
