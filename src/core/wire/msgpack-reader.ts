/**
 * wspeer's one msgpack reader of untrusted bytes where no general decoder runs: integer and length
 * (str, bin, array, map) headers are parsed by the read*At functions below wherever wspeer reads
 * msgpack by hand, so the formats accepted, the safe-integer rule and the truncation checks are
 * written once. (The structural scan decodes the one-byte fix forms in place: most of its tokens
 * are those, and a shared reader's call for each measured slower.)
 *
 * Two levels over them:
 * - read*At: one token header at a byte position. Each returns the position after the header, or
 *   NO_MATCH (another type), TRUNCATED (the header runs past the end) or NOT_SAFE_UINT; what it
 *   read is left in `readValue`. Decoding is synchronous, so one module-level slot serves every
 *   call and no result object is made per token. Used as they are by the shortcuts over layouts
 *   wspeer writes itself (frame-fast-path.ts, block-added-peek.ts, codec.ts's frame header) and by
 *   the structural scan (msgpack-scan.ts), which must allocate nothing.
 * - MsgpackReader: a strict cursor for PBFT messages (consensus/pbft/messages.ts). It reads only
 *   the types those use (map, array, str, bin, nil, non-negative integers) and refuses everything
 *   else, so the hostile-input cases of a general decoder (extensions, records, deep nesting,
 *   declared sizes larger than the input) cannot arise: the caller's fixed schema decides the
 *   nesting, and every declared length is checked against the bytes left before anything is
 *   allocated. One pass replaces a structural scan, a general decode and a schema check. Its
 *   errors are ReadErrors (no received content), which the caller words as a DecodeError.
 *
 *   let pos = matchBytes(b, 0, asciiFixstr('type'))
 *   if (pos >= 0 && (pos = readUintAt(b, pos)) >= 0) use(readValue)
 *
 *   const r = new MsgpackReader(bytes)
 *   const entries = r.map(); const key = r.key(); const n = r.uint()
 */
import { toHex } from '../util/bytes.js'
import { utf8Read } from '../util/utf8.js'

// ---- token headers at a position ----

/** The bytes there are another type (or, for matchBytes, other bytes). */
export const NO_MATCH = -1
/** The header runs past the end of the bytes. */
export const TRUNCATED = -2
/** A number, but not an integer in 0..2^53-1. */
export const NOT_SAFE_UINT = -3

/** The value the last successful read*At read: an integer, or a length or element count. */
export let readValue = 0

const TWO_32 = 2 ** 32

function u16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number)
}

function u32(b: Uint8Array, p: number): number {
  return (b[p] as number) * 0x1000000 + (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number))
}

/**
 * The 64-bit integer in the 8 bytes at `p` (which the caller has checked are there): exact when
 * it is a safe integer, and at least 2^53 in magnitude otherwise, so Number.isSafeInteger tells.
 */
export function int64At(b: Uint8Array, p: number, signed: boolean): number {
  const high = u32(b, p)
  return (signed ? high | 0 : high) * TWO_32 + u32(b, p + 4)
}

// Floats are how msgpackr and wspeer write integers of 2^32 and more (every envelope's timestamp):
// their bytes go through one scratch Float64Array, which costs less than a DataView.
const float64 = new Float64Array(1)
const float64Bytes = new Uint8Array(float64.buffer)
const float32 = new Float32Array(float64.buffer, 0, 1)
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

function floatAt(b: Uint8Array, p: number, size: number): number {
  // msgpack sends the high byte first; a little-endian platform keeps it last.
  const high = LITTLE_ENDIAN ? size - 1 : 0
  for (let i = 0; i < size; i++) float64Bytes[high ^ i] = b[p + i] as number
  return size === 4 ? (float32[0] as number) : (float64[0] as number)
}

/** Bytes after the tag of each sized number format (uint, int and float 8-64); 0 for other tags. */
const NUMBER_BYTES = new Uint8Array(256)
for (const [tags, size] of [
  [[0xcc, 0xd0], 1],
  [[0xcd, 0xd1], 2],
  [[0xce, 0xd2, 0xca], 4],
  [[0xcf, 0xd3, 0xcb], 8],
] as const) {
  for (const tag of tags) NUMBER_BYTES[tag] = size
}

/**
 * A non-negative safe integer in any msgpack number format that holds one exactly (the uints and
 * ints, and the floats, which is how msgpackr and wspeer write integers of 2^32 and more).
 */
export function readUintAt(b: Uint8Array, at: number): number {
  if (at >= b.length) return TRUNCATED
  const tag = b[at] as number
  if (tag <= 0x7f) {
    readValue = tag
    return at + 1
  }
  const size = NUMBER_BYTES[tag] as number
  if (size === 0) return NO_MATCH
  const p = at + 1
  if (p + size > b.length) return TRUNCATED
  let v: number
  switch (tag) {
    case 0xcc:
      v = b[p] as number
      break
    case 0xcd:
      v = u16(b, p)
      break
    case 0xce:
      v = u32(b, p)
      break
    case 0xd0:
      v = ((b[p] as number) << 24) >> 24
      break
    case 0xd1:
      v = (u16(b, p) << 16) >> 16
      break
    case 0xd2:
      v = u32(b, p) | 0
      break
    case 0xcf:
    case 0xd3:
      v = int64At(b, p, tag === 0xd3)
      break
    default:
      v = floatAt(b, p, size)
  }
  if (!Number.isSafeInteger(v) || v < 0) return NOT_SAFE_UINT
  readValue = v
  return p + size
}

/** After a header's tag at `at`: its `size`-byte big-endian length. */
function lengthAfter(b: Uint8Array, at: number, size: number): number {
  const p = at + 1
  if (p + size > b.length) return TRUNCATED
  readValue = size === 1 ? (b[p] as number) : size === 2 ? u16(b, p) : u32(b, p)
  return p + size
}

/** A str header (fixstr, str 8/16/32): readValue is the byte length, the position the bytes' start. */
export function readStrHeaderAt(b: Uint8Array, at: number): number {
  if (at >= b.length) return TRUNCATED
  const tag = b[at] as number
  if ((tag & 0xe0) === 0xa0) {
    readValue = tag & 0x1f
    return at + 1
  }
  return tag >= 0xd9 && tag <= 0xdb ? lengthAfter(b, at, 1 << (tag - 0xd9)) : NO_MATCH
}

/** A bin 8/16/32 header: readValue is the byte length, the position the bytes' start (not checked to be there). */
export function readBinHeaderAt(b: Uint8Array, at: number): number {
  if (at >= b.length) return TRUNCATED
  const tag = b[at] as number
  return tag >= 0xc4 && tag <= 0xc6 ? lengthAfter(b, at, 1 << (tag - 0xc4)) : NO_MATCH
}

/** An array header (`fix` 0x90, `first` sized tag 0xdc) or a map header (0x80, 0xde). */
function containerHeaderAt(b: Uint8Array, at: number, fix: number, first: number): number {
  if (at >= b.length) return TRUNCATED
  const tag = b[at] as number
  if ((tag & 0xf0) === fix) {
    readValue = tag & 0x0f
    return at + 1
  }
  return tag === first ? lengthAfter(b, at, 2) : tag === first + 1 ? lengthAfter(b, at, 4) : NO_MATCH
}

/** An array header (fixarray, array 16/32): readValue is the element count. */
export function readArrayHeaderAt(b: Uint8Array, at: number): number {
  return containerHeaderAt(b, at, 0x90, 0xdc)
}

/** A map header (fixmap, map 16/32): readValue is the entry count. */
export function readMapHeaderAt(b: Uint8Array, at: number): number {
  return containerHeaderAt(b, at, 0x80, 0xde)
}

/** Where `bytes` end if `b` holds exactly them at `pos`, else NO_MATCH. */
export function matchBytes(b: Uint8Array, pos: number, bytes: Uint8Array): number {
  if (pos + bytes.length > b.length) return NO_MATCH
  for (let i = 0; i < bytes.length; i++) if (b[pos + i] !== bytes[i]) return NO_MATCH
  return pos + bytes.length
}

// ---- the strict cursor ----

/** What went wrong while reading; its message quotes no received content. */
export class ReadError extends Error {
  override readonly name: string = 'ReadError'
}

/** Strings shorter than this are decoded by hand when ASCII (the native decoder's call costs more). */
const SHORT_STRING = 48
// Everything else goes through utf8Read: non-fatal like msgpackr (bad bytes become U+FFFD, so the
// text is always well-formed Unicode), and a leading U+FEFF is kept, since it is content.

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

  /** Moves past a header a read*At function found (`next`) and gives what it read; `what` words NO_MATCH. */
  #header(next: number, what: string): number {
    if (next < 0) throw new ReadError(next === TRUNCATED ? 'truncated' : next === NOT_SAFE_UINT ? 'not an integer in 0..2^53-1' : what)
    this.#pos = next
    return readValue
  }

  /** A map header: its entry count (each entry takes 2 bytes at least, which bounds the count). */
  map(): number {
    const count = this.#header(readMapHeaderAt(this.#b, this.#pos), 'not a map')
    if (count * 2 > this.left) throw new ReadError('truncated')
    return count
  }

  /** An array header: its element count, at most `max` (and at most the bytes left). */
  array(max: number): number {
    const count = this.#header(readArrayHeaderAt(this.#b, this.#pos), 'not an array')
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
    return this.#header(readUintAt(this.#b, this.#pos), 'not an integer')
  }

  /** A string of at most `maxBytes` UTF-8 bytes (and at least `minBytes`). */
  str(maxBytes: number, minBytes = 0): string {
    const length = this.#header(readStrHeaderAt(this.#b, this.#pos), 'not a string')
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
    const length = this.#header(readStrHeaderAt(this.#b, this.#pos), 'not a string')
    this.#need(length)
    const code = length === 1 ? (this.#b[this.#pos] as number) : 0
    this.#pos += length
    return code < 0x80 ? code : 0
  }

  /** A bin of at most `maxBytes` bytes, as a view into the input (not a copy). */
  bin(maxBytes: number): Uint8Array {
    const length = this.#header(readBinHeaderAt(this.#b, this.#pos), 'not bytes')
    if (length > maxBytes) throw new ReadError(`more than ${maxBytes} bytes`)
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    return this.#b.subarray(start, start + length)
  }

  /** A bin of 32 bytes (or of 0 bytes when `orEmpty`), as lowercase hex ('' for 0 bytes). */
  digest(orEmpty: boolean): string {
    const length = this.#header(readBinHeaderAt(this.#b, this.#pos), 'not bytes')
    if (length !== 32 && !(orEmpty && length === 0)) throw new ReadError(orEmpty ? 'not a digest of 32 or 0 bytes' : 'not a digest of 32 bytes')
    this.#need(length)
    const start = this.#pos
    this.#pos += length
    return length === 0 ? '' : toHex(this.#b, start, start + length)
  }
}
