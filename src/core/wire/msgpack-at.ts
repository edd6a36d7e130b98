/**
 * Single msgpack tokens read at a byte position, for the decoders' shortcuts over layouts wspeer
 * writes itself (frame-fast-path.ts, block-added-peek.ts). Each reader returns the position after
 * the token, or NO_MATCH when the bytes there are not that token (or run past the end); what it
 * read is left in `readValue`. Decoding is synchronous, so one module-level slot serves every call
 * and no result object is made per token.
 *
 *   let pos = matchBytes(b, 0, asciiFixstr('type'))
 *   if (pos !== NO_MATCH && (pos = readUintAt(b, pos)) !== NO_MATCH) use(readValue)
 */

export const NO_MATCH = -1

/** 2^53 as the high 32-bit word of a 64-bit integer: values from here on are not safe integers. */
export const SAFE_HIGH_WORD_LIMIT = 0x200000

/** The value the last successful readUintAt or readBinHeaderAt read. */
export let readValue = 0

/** An ASCII string of at most 31 characters as a msgpack fixstr. */
export function asciiFixstr(text: string): Uint8Array {
  const out = new Uint8Array(1 + text.length)
  out[0] = 0xa0 | text.length
  for (let i = 0; i < text.length; i++) out[i + 1] = text.charCodeAt(i)
  return out
}

/** Where `bytes` end if `b` holds exactly them at `pos`, else NO_MATCH. */
export function matchBytes(b: Uint8Array, pos: number, bytes: Uint8Array): number {
  if (pos + bytes.length > b.length) return NO_MATCH
  for (let i = 0; i < bytes.length; i++) if (b[pos + i] !== bytes[i]) return NO_MATCH
  return pos + bytes.length
}

/** A msgpack uint (positive fixint, uint 8/16/32/64) that is a safe integer. */
export function readUintAt(b: Uint8Array, at: number): number {
  if (at >= b.length) return NO_MATCH
  const tag = b[at]!
  if (tag <= 0x7f) {
    readValue = tag
    return at + 1
  }
  const size = tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : tag === 0xcf ? 8 : 0
  if (size === 0 || at + 1 + size > b.length) return NO_MATCH
  if (size === 8 && b[at + 1]! * 0x1000000 + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!) >= SAFE_HIGH_WORD_LIMIT) return NO_MATCH
  let v = 0
  for (let i = 1; i <= size; i++) v = v * 256 + b[at + i]!
  readValue = v
  return at + 1 + size
}

/** A bin 8/16/32 header whose bytes lie within `b`: readValue is their length, the position their start. */
export function readBinHeaderAt(b: Uint8Array, at: number): number {
  if (at >= b.length) return NO_MATCH
  const tag = b[at]!
  const size = tag === 0xc4 ? 1 : tag === 0xc5 ? 2 : tag === 0xc6 ? 4 : 0
  if (size === 0 || at + 1 + size > b.length) return NO_MATCH
  let length = 0
  for (let i = 1; i <= size; i++) length = length * 256 + b[at + i]!
  if (at + 1 + size + length > b.length) return NO_MATCH
  readValue = length
  return at + 1 + size
}
