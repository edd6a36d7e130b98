/**
 * The frame codec: envelopes in, one binary WebSocket message out (encodeFrame), and untrusted
 * bytes in, checked envelopes out (decodeFrame). A frame is a msgpack array of 1..N envelope maps;
 * PROTOCOL.md is the language-neutral spec.
 *
 * Decoding is layered so that each layer only sees what the previous one proved harmless:
 * 1. size: a frame over `maxFrameBytes` is refused before it is read (FrameTooLargeError);
 * 2. structure: scanMsgpack walks the bytes once without allocating (no ext types, caps on depth,
 *    containers and declared lengths, safe integers, no trailing bytes);
 * 3. msgpackr, with records, structured clone and extra types off, int64 as number, and bin
 *    values copied so a small payload never pins a whole frame in memory;
 * 4. shape: exact envelope key sets and value types, checked by hand (see checkEnvelope).
 * A frame laid out exactly as encodeFrame writes it takes a hand-written shortcut instead
 * (frame-fast-path.ts), which gives the same envelopes and leaves everything else to the layers.
 * Every failure is one DecodeError whose message never quotes decoded content.
 *
 * Encoding is hand-written too, with msgpack-writer.ts's tokens: the envelope has a fixed shape, so
 * writing its bytes straight into one exactly sized buffer is several times faster than a general
 * encoder and needs no copy of each envelope to drop absent optional fields. The bytes are
 * msgpackr's for the same envelope (integers of 2^32 and more, millisecond timestamps among them,
 * as float 64), which the tests check.
 */
import type { Unpackr as UnpackrType } from 'msgpackr'
// @ts-expect-error -- this entry ships without declarations; it exports the same Unpackr class.
// It is the build that never calls `new Function`, so pages whose CSP forbids eval can decode.
import { Unpackr as NoEvalUnpackr } from 'msgpackr/unpack-no-eval'
import { DecodeError, FrameTooLargeError } from '../errors.js'
import { DEFAULT_MAX_SIGNATURE_BYTES, resolveCodecLimits } from './codec-limits.js'
import { KEY_PAYLOAD, KEY_SIGNATURE, KEY_TIMESTAMP, KEY_TYPE } from './envelope-keys.js'
import { decodeCanonicalFrame } from './frame-fast-path.js'
import type { CodecLimits } from './codec-limits.js'
import type { Envelope } from './envelope.js'
import { scanMsgpack } from './msgpack-scan.js'
import type { ScanLimits } from './msgpack-scan.js'
import { TRUNCATED, readArrayHeaderAt, readValue } from './msgpack-reader.js'
import { binHeaderBytes, containerHeaderBytes, uintBytes, writeArrayHeaderAt, writeBinAt, writeMapHeaderAt, writeUintAt } from './msgpack-writer.js'

/** Bytes of a frame's array header at most (array 32); a frame is this plus its envelopes. */
export const FRAME_HEADER_MAX_BYTES = 5

const unpackr: UnpackrType = new (NoEvalUnpackr as typeof UnpackrType)({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  copyBuffers: true,
})

/**
 * Decodes untrusted msgpack bytes into a plain value: structural scan first, then msgpackr.
 * `what` names the thing in error messages ("frame", "DISC_HELLO payload"). Shared with payloads.ts.
 */
export function unpackUntrusted(bytes: Uint8Array, limits: ScanLimits, what: string): unknown {
  try {
    scanMsgpack(bytes, limits)
  } catch (err) {
    throw new DecodeError(`${what}: ${(err as Error).message}`, { cause: err })
  }
  // A fresh plain view: msgpackr caches a DataView on its input object, and bin values sliced
  // from a plain Uint8Array come out as plain Uint8Arrays (not Buffers) on every platform.
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  try {
    return unpackr.unpack(view)
  } catch (err) {
    // msgpackr throws Error, RangeError, TypeError or SyntaxError, some quoting decoded data.
    throw new DecodeError(`${what}: msgpack decoding failed`, { cause: err })
  }
}

/** Decodes one frame into its envelopes; DecodeError or FrameTooLargeError on any failure. */
export function decodeFrame(frame: Uint8Array, limits?: Partial<CodecLimits>): Envelope[] {
  if (!(frame instanceof Uint8Array)) throw new DecodeError('frame: not a Uint8Array')
  const lim = resolveCodecLimits(limits)
  if (frame.byteLength > lim.maxFrameBytes) throw new FrameTooLargeError(frame.byteLength, lim.maxFrameBytes)
  // Refuse a wrong top level or an envelope count over the cap before anything is allocated.
  const headerEnd = readArrayHeaderAt(frame, 0)
  if (headerEnd === TRUNCATED && frame.byteLength > 0) throw new DecodeError('frame: truncated msgpack: the array header is cut off')
  if (headerEnd < 0) throw new DecodeError(frame.byteLength === 0 ? 'frame: empty' : 'frame: top level is not a msgpack array')
  const count = readValue
  if (count === 0) throw new DecodeError('frame: holds no envelope')
  if (count > lim.maxEnvelopesPerFrame) {
    throw new DecodeError(`frame: ${count} envelopes exceed the limit of ${lim.maxEnvelopesPerFrame}`)
  }
  const fast = decodeCanonicalFrame(frame, count, headerEnd, lim)
  if (fast !== undefined) return fast
  const decoded = unpackUntrusted(frame, lim, 'frame')
  if (!Array.isArray(decoded)) throw new DecodeError('frame: top level is not a msgpack array')
  const envelopes = new Array<Envelope>(decoded.length)
  for (let i = 0; i < decoded.length; i++) envelopes[i] = checkEnvelope(decoded[i], i)
  return envelopes
}

/**
 * The envelope shape check, by hand rather than with a schema library: it runs for every message
 * on the hot path, where one pass over the keys with a switch costs a fraction of a generic
 * validator, and it returns a fresh object of one fixed shape (no stray properties carried on).
 */
function checkEnvelope(value: unknown, index: number): Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw envelopeError(index, 'is not a map')
  }
  const proto: unknown = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) throw envelopeError(index, 'is not a plain map')
  const record = value as Record<string, unknown>
  let type: unknown
  let payload: unknown
  let timestamp: unknown
  let signature: unknown
  // for-in also sees inherited enumerable keys: if Object.prototype were ever polluted, refuse.
  for (const key in record) {
    switch (key) {
      case 'type':
        type = record[key]
        break
      case 'payload':
        payload = record[key]
        break
      case 'timestamp':
        timestamp = record[key]
        break
      case 'signature':
        signature = record[key]
        break
      default:
        throw envelopeError(index, 'has a key other than type, payload, timestamp, signature')
    }
  }
  if (type === undefined) throw envelopeError(index, 'has no "type"')
  if (!isUint(type)) throw envelopeError(index, '"type" is not a non-negative safe integer')
  if (payload === undefined) throw envelopeError(index, 'has no "payload"')
  if (!(payload instanceof Uint8Array)) throw envelopeError(index, '"payload" is not bin')
  const envelope: Envelope = { type, payload }
  if (timestamp !== undefined) {
    if (!isUint(timestamp)) throw envelopeError(index, '"timestamp" is not a non-negative safe integer')
    envelope.timestamp = timestamp
  }
  if (signature !== undefined) {
    if (!(signature instanceof Uint8Array)) throw envelopeError(index, '"signature" is not bin')
    if (signature.byteLength > DEFAULT_MAX_SIGNATURE_BYTES) {
      throw envelopeError(index, `"signature" is longer than ${DEFAULT_MAX_SIGNATURE_BYTES} bytes`)
    }
    envelope.signature = signature
  }
  return envelope
}

function isUint(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

function envelopeError(index: number, what: string): DecodeError {
  return new DecodeError(`frame: envelope ${index} ${what}`)
}

/**
 * Encoded size of one envelope in bytes (exact for valid envelopes, so also an upper bound). A
 * frame of envelopes e1..en is at most FRAME_HEADER_MAX_BYTES plus the sum of their sizes.
 */
export function envelopeWireSize(env: Envelope): number {
  // 1: the envelope's fixmap header.
  let size = 1 + KEY_TYPE.length + uintBytes(env.type) + KEY_PAYLOAD.length + binHeaderBytes(env.payload.byteLength) + env.payload.byteLength
  if (env.timestamp !== undefined) size += KEY_TIMESTAMP.length + uintBytes(env.timestamp)
  if (env.signature !== undefined) size += KEY_SIGNATURE.length + binHeaderBytes(env.signature.byteLength) + env.signature.byteLength
  return size
}

/**
 * Encodes envelopes as one frame. Throws TypeError/RangeError for envelopes the receiver would
 * refuse (a local bug, better caught here than reported back by every peer). The caller keeps
 * the count within the receiver's maxEnvelopesPerFrame.
 */
export function encodeFrame(envelopes: readonly Envelope[]): Uint8Array {
  const count = envelopes.length
  if (count === 0) throw new RangeError('encodeFrame: a frame holds at least one envelope')
  let size = containerHeaderBytes(count)
  for (let i = 0; i < count; i++) {
    const env = envelopes[i] as Envelope
    checkOutgoing(env, i)
    size += envelopeWireSize(env)
  }
  const out = new Uint8Array(size)
  let pos = writeArrayHeaderAt(out, 0, count)
  for (let i = 0; i < count; i++) {
    const env = envelopes[i] as Envelope
    const hasTimestamp = env.timestamp !== undefined
    const hasSignature = env.signature !== undefined
    pos = writeMapHeaderAt(out, pos, 2 + (hasTimestamp ? 1 : 0) + (hasSignature ? 1 : 0))
    out.set(KEY_TYPE, pos)
    pos = writeUintAt(out, pos + KEY_TYPE.length, env.type)
    if (hasTimestamp) {
      out.set(KEY_TIMESTAMP, pos)
      pos = writeUintAt(out, pos + KEY_TIMESTAMP.length, env.timestamp as number)
    }
    out.set(KEY_PAYLOAD, pos)
    pos = writeBinAt(out, pos + KEY_PAYLOAD.length, env.payload)
    if (hasSignature) {
      out.set(KEY_SIGNATURE, pos)
      pos = writeBinAt(out, pos + KEY_SIGNATURE.length, env.signature as Uint8Array)
    }
  }
  return out
}

function checkOutgoing(env: Envelope, index: number): void {
  if (!isUint(env.type)) throw new TypeError(`encodeFrame: envelope ${index} type is not a non-negative safe integer`)
  if (!(env.payload instanceof Uint8Array)) throw new TypeError(`encodeFrame: envelope ${index} payload is not a Uint8Array`)
  if (env.timestamp !== undefined && !isUint(env.timestamp)) {
    throw new TypeError(`encodeFrame: envelope ${index} timestamp is not a non-negative safe integer`)
  }
  if (env.signature !== undefined) {
    if (!(env.signature instanceof Uint8Array)) throw new TypeError(`encodeFrame: envelope ${index} signature is not a Uint8Array`)
    if (env.signature.byteLength > DEFAULT_MAX_SIGNATURE_BYTES) {
      throw new RangeError(`encodeFrame: envelope ${index} signature is longer than ${DEFAULT_MAX_SIGNATURE_BYTES} bytes`)
    }
  }
}
