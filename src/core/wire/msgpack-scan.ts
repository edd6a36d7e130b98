/**
 * A structural check of untrusted msgpack bytes, run before anything is decoded. Bytes enter
 * scanMsgpack; nothing leaves but a DecodeError when they are unacceptable. It walks the bytes
 * once, left to right, with an explicit stack of at most `maxDepth` counters: no recursion and no
 * decoded value is ever allocated, so a hostile frame costs one linear pass and a few numbers.
 *
 * Refused: any ext type (fixext 0xd4-0xd8, ext 0xc7-0xc9: so msgpackr's RegExp, Error, Set,
 * typed-array, record, structured-clone, timestamp and undefined extensions never reach the
 * decoder), the never-used byte 0xc1, map keys that are not strings, declared lengths or element
 * counts larger than the bytes that remain (a declared 4 GB string fails at once), nesting deeper
 * than `maxDepth`, more than `maxContainers` arrays plus maps, 64-bit integers outside the safe
 * integer range, truncated input and trailing bytes after the one top-level value.
 *
 * Error messages name the offence and a byte offset, never decoded content. Multi-byte length
 * headers and 64-bit integers are read by msgpack-reader.ts's token readers, as everywhere else in
 * wspeer.
 */
import { DecodeError } from '../errors.js'
import { TRUNCATED, int64At, readArrayHeaderAt, readBinHeaderAt, readMapHeaderAt, readStrHeaderAt, readValue } from './msgpack-reader.js'

export interface ScanLimits {
  maxDepth: number
  maxContainers: number
}

/** Throws DecodeError unless `bytes` is exactly one msgpack value that the wire accepts. */
export function scanMsgpack(bytes: Uint8Array, limits: ScanLimits): void {
  const end = bytes.length
  const { maxDepth, maxContainers } = limits
  // Per open container: items still to read, and whether it is a map (keys sit at even counts).
  const remainingStack: number[] = []
  const isMapStack: boolean[] = []
  let depth = 0
  let containers = 0
  let pos = 0
  let remaining = 1
  let inMap = false

  for (;;) {
    if (remaining === 0) {
      if (depth === 0) break
      depth--
      remaining = remainingStack[depth] as number
      inMap = isMapStack[depth] as boolean
      continue
    }
    if (pos >= end) throw new DecodeError(`truncated msgpack: input ends at byte ${pos} inside a value`)
    const keyPosition = inMap && remaining % 2 === 0
    remaining--
    const at = pos
    const b = bytes[pos++] as number

    let dataLength = -1 // bytes of string/bin data that follow the header
    let items = -1 // elements of a container that follows
    let map = false

    // The one-byte fix forms, most tokens, are decoded in place; sized headers by the shared readers.
    if (b <= 0x7f || b >= 0xe0) {
      // positive or negative fixint
    } else if (b <= 0x8f) {
      items = (b & 0x0f) * 2
      map = true
    } else if (b <= 0x9f) {
      items = b & 0x0f
    } else if (b <= 0xbf) {
      dataLength = b & 0x1f
    } else if (b === 0xde || b === 0xdf) {
      pos = readMapHeaderAt(bytes, at)
      items = readValue * 2
      map = true
    } else if (b === 0xdc || b === 0xdd) {
      pos = readArrayHeaderAt(bytes, at)
      items = readValue
    } else if (b >= 0xd9 && b <= 0xdb) {
      pos = readStrHeaderAt(bytes, at)
      dataLength = readValue
    } else if (b >= 0xc4 && b <= 0xc6) {
      pos = readBinHeaderAt(bytes, at)
      dataLength = readValue
    } else {
      switch (b) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break
        case 0xc1:
          throw new DecodeError(`invalid msgpack byte 0xc1 at byte ${at}`)
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          throw new DecodeError(`msgpack extension types are not accepted (byte ${at})`)
        case 0xcc: // uint 8
        case 0xd0: // int 8
          dataLength = 1
          break
        case 0xcd: // uint 16
        case 0xd1: // int 16
          dataLength = 2
          break
        case 0xca: // float 32
        case 0xce: // uint 32
        case 0xd2: // int 32
          dataLength = 4
          break
        case 0xcb: // float 64
          dataLength = 8
          break
        default:
          // uint 64 (0xcf), int 64 (0xd3)
          if (8 > end - pos) throw cutOff(at)
          if (!Number.isSafeInteger(int64At(bytes, pos, b === 0xd3))) {
            throw new DecodeError(`64-bit integer at byte ${at} is outside the safe integer range (|n| < 2^53)`)
          }
          dataLength = 8
      }
    }
    // Only a sized header can be cut off here: the tag itself is within the bytes.
    if (pos === TRUNCATED) throw cutOff(at)

    if (keyPosition && !(b >= 0xa0 && b <= 0xbf) && b !== 0xd9 && b !== 0xda && b !== 0xdb) {
      throw new DecodeError(`map key at byte ${at} is not a string`)
    }
    if (dataLength >= 0) {
      if (dataLength > end - pos) {
        throw new DecodeError(`truncated msgpack: value at byte ${at} declares ${dataLength} bytes, ${end - pos} remain`)
      }
      pos += dataLength
    } else if (items >= 0) {
      // Every element takes at least one byte, so a count beyond the remaining bytes can never be met.
      if (items > end - pos) {
        throw new DecodeError(`truncated msgpack: container at byte ${at} declares ${items} elements, ${end - pos} bytes remain`)
      }
      if (++containers > maxContainers) {
        throw new DecodeError(`more than ${maxContainers} arrays and maps in one value`)
      }
      if (depth + 1 > maxDepth) throw new DecodeError(`msgpack nesting deeper than ${maxDepth} levels`)
      if (items > 0) {
        remainingStack[depth] = remaining
        isMapStack[depth] = inMap
        depth++
        remaining = items
        inMap = map
      }
    }
  }
  if (pos !== end) throw new DecodeError(`trailing bytes: one msgpack value ends at byte ${pos} of ${end}`)
}

function cutOff(at: number): DecodeError {
  return new DecodeError(`truncated msgpack: header at byte ${at} is cut off`)
}
