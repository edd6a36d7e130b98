/**
 * The wire layer: what travels between peers and how it is checked. Envelopes enter encodeFrame
 * and leave as one binary WebSocket message; frames from the network enter decodeFrame and leave
 * as envelopes whose payloads decodePayload turns into checked objects. Nothing here does I/O.
 * PROTOCOL.md (repo root) is the language-neutral specification of all of it.
 */
export * from './message-type.js'
export type * from './envelope.js'
export * from './payload-types.js'
export * from './codec-limits.js'
export { FRAME_HEADER_MAX_BYTES, decodeFrame, encodeFrame, envelopeWireSize } from './codec.js'
export { decodePayload, encodePayload, hasPayloadSchema, makeEnvelope, makeResponse, truncateUtf8, utf8ByteLength } from './payloads.js'
export type { PayloadMap, PayloadType } from './payloads.js'
export { scanMsgpack } from './msgpack-scan.js'
export type { ScanLimits } from './msgpack-scan.js'
