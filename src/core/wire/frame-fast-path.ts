/**
 * decodeFrame's fast path: a frame laid out as encodeFrame writes it (an array of maps whose keys
 * come as `type`, `timestamp`?, `payload`, `signature`?, bins for the bytes, and integers in any
 * number format that holds a non-negative safe one, as msgpack-reader.ts reads them: encodeFrame
 * writes those of 2^32 and more as float 64) is read here by hand, with no structural scan, no
 * general decoder and no intermediate objects. Anything else, well-formed or not, gives undefined
 * and goes through the full path (codec.ts), which decides and words every refusal; so what this
 * accepts is a subset of what the full path accepts, decoded to the same envelopes
 * (frame-fast-path.test.ts compares it with a generic msgpack decoder on random frames).
 *
 * Why: every message on every link passes here. At PBFT batch 1 the scan plus msgpackr plus the
 * shape check cost a validator about 6% of its CPU.
 */
import type { CodecLimits } from './codec-limits.js'
import { DEFAULT_MAX_SIGNATURE_BYTES } from './codec-limits.js'
import type { Envelope } from './envelope.js'
import { KEY_PAYLOAD, KEY_SIGNATURE, KEY_TIMESTAMP, KEY_TYPE } from './envelope-keys.js'
import { NO_MATCH, matchBytes, readBinHeaderAt, readUintAt, readValue } from './msgpack-reader.js'

const EMPTY = new Uint8Array(0)

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
    pos = matchBytes(b, pos, KEY_TYPE)
    if (pos === NO_MATCH || (pos = readUintAt(b, pos)) < 0) return undefined
    const envelope: Envelope = { type: readValue, payload: EMPTY }
    let at = matchBytes(b, pos, KEY_TIMESTAMP)
    if (at !== NO_MATCH) {
      if (keys < 2 || (pos = readUintAt(b, at)) < 0) return undefined
      envelope.timestamp = readValue
      keys--
    }
    pos = matchBytes(b, pos, KEY_PAYLOAD)
    if (pos === NO_MATCH || (pos = readBinHeaderAt(b, pos)) < 0 || pos + readValue > b.length) return undefined
    envelope.payload = b.slice(pos, pos + readValue)
    pos += readValue
    keys--
    if (keys === 1) {
      pos = matchBytes(b, pos, KEY_SIGNATURE)
      if (pos === NO_MATCH || (at = readBinHeaderAt(b, pos)) < 0 || readValue > DEFAULT_MAX_SIGNATURE_BYTES || at + readValue > b.length) return undefined
      envelope.signature = b.slice(at, at + readValue)
      pos = at + readValue
    } else if (keys !== 0) return undefined
    out[i] = envelope
  }
  return pos === b.length ? out : undefined
}
