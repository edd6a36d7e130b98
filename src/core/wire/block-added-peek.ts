/**
 * The block number of a SYNC_BLOCK_ADDED payload, read from its first bytes without decoding the
 * block. f+1 validators announce every block (so that f crashed ones are covered), and a
 * non-validator that decoded each copy whole spent about a fifth of its CPU on the copies it
 * already held; with the number in hand it skips them.
 *
 * wspeer's encoder writes the payload as `{block: {number, ...}}` with `number` first, so the
 * bytes start: a one-entry map, the string "block", a map header, the string "number", an
 * unsigned integer. Anything else (another key order, another encoder, a number past 2^32)
 * gives undefined, and the payload is decoded and checked as usual. Nothing here trusts the rest
 * of the payload: a caller uses the number only to leave alone a block it already holds.
 *
 *   peekAnnouncedBlockNumber(encodePayload(MessageType.SYNC_BLOCK_ADDED, { block }))  // block.number
 */

/** 0x81, fixstr(5) "block". */
const PAYLOAD_PREFIX = [0x81, 0xa5, 0x62, 0x6c, 0x6f, 0x63, 0x6b]
/** fixstr(6) "number". */
const NUMBER_KEY = [0xa6, 0x6e, 0x75, 0x6d, 0x62, 0x65, 0x72]

export function peekAnnouncedBlockNumber(payload: Uint8Array): number | undefined {
  let pos = 0
  for (let i = 0; i < PAYLOAD_PREFIX.length; i++) if (payload[pos++] !== PAYLOAD_PREFIX[i]) return undefined
  const header = payload[pos++]
  if (header === undefined) return undefined
  // fixmap or map16 (the block has six keys; a decoder-side check of the count comes with the full decode).
  if (header >= 0x80 && header <= 0x8f) {
    // nothing more to skip
  } else if (header === 0xde) pos += 2
  else return undefined
  for (let i = 0; i < NUMBER_KEY.length; i++) if (payload[pos++] !== NUMBER_KEY[i]) return undefined
  const tag = payload[pos++]
  if (tag === undefined) return undefined
  if (tag <= 0x7f) return tag
  const need = tag === 0xcc ? 1 : tag === 0xcd ? 2 : tag === 0xce ? 4 : 0
  if (need === 0 || pos + need > payload.length) return undefined
  let value = 0
  for (let i = 0; i < need; i++) value = value * 256 + payload[pos + i]!
  return value
}
