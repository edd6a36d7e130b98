
/**
 * The one envelope every frame carries (Fabric's `Message`). `payload` is the msgpack encoding of
 * the type's payload object (see payloads.ts), or opaque consenter bytes for CONSENSUS; keeping it
 * as raw bytes lets signatures cover exactly what was sent.
 */
export interface Envelope {
  /** A `MessageType` value; decoded envelopes may carry numbers wspeer does not know. */
  type: number
  /** Milliseconds since the Unix epoch at the sender, when it chose to say. */
  timestamp?: number
  payload: Uint8Array
  signature?: Uint8Array
}
