/**
 * The envelope's map keys as the msgpack fixstr bytes encodeFrame writes, in its order: type,
 * timestamp (optional), payload, signature (optional). The frame fast path reads the same bytes.
 */
import { asciiFixstr } from './msgpack-writer.js'

export const KEY_TYPE = asciiFixstr('type')
export const KEY_TIMESTAMP = asciiFixstr('timestamp')
export const KEY_PAYLOAD = asciiFixstr('payload')
export const KEY_SIGNATURE = asciiFixstr('signature')
