/**
 * The block number of a SYNC_BLOCK_ADDED payload, read from its first bytes without decoding the
 * block. f+1 validators announce every block (so that f crashed ones are covered), and a
 * non-validator that decoded each copy whole spent about a fifth of its CPU on the copies it
 * already held; with the number in hand it skips them.
 *
 * wspeer's encoder writes the payload as `{block: {number, ...}}` with `number` first, so the
 * bytes start: a one-entry map, the string "block", a map header, the string "number", an
 * integer (in any format that holds a non-negative safe one, float 64 included). Anything else
 * (another key order, another encoder) gives undefined, and the payload is decoded and checked as
 * usual. Nothing here trusts the rest of the payload: a caller uses the number only to leave
 * alone a block it already holds.
 *
 *   peekAnnouncedBlockNumber(encodePayload(MessageType.SYNC_BLOCK_ADDED, { block }))  // block.number
 */
import { NO_MATCH, matchBytes, readMapHeaderAt, readUintAt, readValue } from './msgpack-reader.js'
import { asciiFixstr } from './msgpack-writer.js'

/** A one-entry map, then the fixstr "block". */
const PAYLOAD_PREFIX = new Uint8Array([0x81, ...asciiFixstr('block')])
const NUMBER_KEY = asciiFixstr('number')

export function peekAnnouncedBlockNumber(payload: Uint8Array): number | undefined {
  let pos = matchBytes(payload, 0, PAYLOAD_PREFIX)
  // The block's entry count is checked by the full decode, when there is one.
  if (pos === NO_MATCH || (pos = readMapHeaderAt(payload, pos)) < 0) return undefined
  pos = matchBytes(payload, pos, NUMBER_KEY)
  if (pos === NO_MATCH || readUintAt(payload, pos) < 0) return undefined
  return readValue
}
