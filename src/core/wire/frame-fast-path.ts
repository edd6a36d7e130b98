/**
 * decodeFrame's fast path: a frame laid out exactly as encodeFrame writes it (an array of maps
 * whose keys come as `type`, `timestamp`?, `payload`, `signature`?, unsigned integers in their
 * msgpack uint forms, bins for the bytes) is read here by hand, with no structural scan, no
 * general decoder and no intermediate objects. Anything else, well-formed or not, gives
 * undefined and goes through the full path (codec.ts), which decides and words every refusal;
 * so what this accepts is a subset of what the full path accepts, decoded to the same envelopes
 * (frame-fast-path.test.ts compares it with a generic msgpack decoder on random frames).
 *
 * Why: every message on every link passes here. At PBFT batch 1 the scan plus msgpackr plus the
 * shape check cost a validator about 6% of its CPU.
 */
import type { CodecLimits } from './codec-limits.js'
import { DEFAULT_MAX_SIGNATURE_BYTES } from './codec-limits.js'
import type { Envelope } from './envelope.js'

const fixstr = (key: string): number[] => [0xa0 | key.length, ...Array.from(key, (c) => c.charCodeAt(0))]
const TYPE = fixstr('type')
const TIMESTAMP = fixstr('timestamp')
const PAYLOAD = fixstr('payload')
const SIGNATURE = fixstr('signature')

/** 2^53 as the high word of a u64: from here on a value is not a safe integer. */
const SAFE_HIGH_WORD_LIMIT = 0x200000
const FAIL = -1
const EMPTY = new Uint8Array(0)

// The readers below return the next position (FAIL when the bytes are not what they read) and
// leave what they read here; decoding is synchronous, so one module-level slot serves every call.
let value = 0

/** Where `key` ends if the bytes at pos are exactly it, else FAIL. */
function matchKey(b: Uint8Array, pos: number, key: readonly number[]): number {
  if (pos + key.length > b.length) return FAIL
  for (let i = 0; i < key.length; i++) if (b[pos + i] !== key[i]) return FAIL
  return pos + key.length
}

/** A msgpack uint (positive fixint, uint 8/16/32/64) that is a safe integer. */
function readUint(b: Uint8Array, at: number): number {
  if (at >= b.length) return FAIL
  const tag = b[at]!
  if (tag <= 0x7f) {
    value = tag
    return at + 1
  }
  const size = tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : tag === 0xcf ? 8 : 0
  if (size === 0 || at + 1 + size > b.length) return FAIL
  if (size === 8 && b[at + 1]! * 0x1000000 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!) >= SAFE_HIGH_WORD_LIMIT) return FAIL
  let v = 0
  for (let i = 1; i <= size; i++) v = v * 256 + b[at + i]!
  value = v
  return at + 1 + size
}

/** A bin 8/16/32 header whose bytes lie within `b`: `value` is their length, the position their start. */
function readBinHeader(b: Uint8Array, at: number): number {
  if (at >= b.length) return FAIL
  const tag = b[at]!
  const size = tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : tag === 0xc6 ? 4 : 0
  if (size === 0 || at + 1 + size > b.length) return FAIL
  let length = 0
  for (let i = 1; i <= size; i++) length = length * 256 + b[at + i]!
  if (at + 1 + size + length > b.length) return FAIL
  value = length
  return at + 1 + size
}

/**
 * Decodes `frame` (whose array header, of `headerBytes` bytes, announced `count` envelopes) when
 * it is laid out as encodeFrame writes it; undefined otherwise.
 */
export function decodeCanonicalFrame(frame: Uint8Array, count: number, headerBytes: number, limits: Readonly<CodecLimits>): Envelope[] | undefined {
  // The full path refuses these with its own wording.
  if (limits.maxDepth < 2 || count + 1 > limits.maxContainers) return undefined
  // Copies come from a plain view: the slice of a subclass (Node's buffers) would share the frame's memory.
  const b = Object.getPrototypeOf(frame) === Uint8Array.prototype ? frame : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength)
  const out = new Array<Envelope>(count)
  let pos = headerBytes
  for (let i = 0; i < count; i++) {
    const header = b[pos++]
    if (header === undefined || header < 0x82 || header > 0x84) return undefined
    // Keys still to read after `type`: payload, and timestamp and signature when present.
    let keys = (header & 0x0f) - 1
    pos = matchKey(b, pos, TYPE)
    if (pos === FAIL || (pos = readUint(b, pos)) === FAIL) return undefined
    const envelope: Envelope = { type: value, payload: EMPTY }
    let at = matchKey(b, pos, TIMESTAMP)
    if (at !== FAIL) {
      if (keys < 2 || (pos = readUint(b, at)) === FAIL) return undefined
      envelope.timestamp = value
      keys--
    }
    pos = matchKey(b, pos, PAYLOAD)
    if (pos === FAIL || (pos = readBinHeader(b, pos)) === FAIL) return undefined
    envelope.payload = b.slice(pos, pos + value)
    pos += value
    keys--
    if (keys === 1) {
      pos = matchKey(b, pos, SIGNATURE)
      if (pos === FAIL || (at = readBinHeader(b, pos)) === FAIL || value > DEFAULT_MAX_SIGNATURE_BYTES) return undefined
      envelope.signature = b.slice(at, at + value)
      pos = at + value
    } else if (keys !== 0) return undefined
    out[i] = envelope
  }
  return pos === b.length ? out : undefined
}
