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
 * Error messages name the offence and a byte offset, never decoded content.
 */
import { DecodeError } from '../errors.js'
import { SAFE_HIGH_WORD_LIMIT } from './msgpack-at.js'

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

    if (b <= 0x7f) {
      // positive fixint
    } else if (b <= 0x8f) {
      items = (b & 0x0f) * 2
      map = true
    } else if (b <= 0x9f) {
      items = b & 0x0f
    } else if (b <= 0xbf) {
      dataLength = b & 0x1f
    } else if (b >= 0xe0) {
      // negative fixint
    } else {
      switch (b) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break
        case 0xc1:
          throw new DecodeError(`invalid msgpack byte 0xc1 at byte ${at}`)
        case 0xc4: // bin 8
        case 0xd9: // str 8
          need(bytes, pos, 1, at)
          dataLength = bytes[pos] as number
          pos += 1
          break
        case 0xc5: // bin 16
        case 0xda: // str 16
          need(bytes, pos, 2, at)
          dataLength = readU16(bytes, pos)
          pos += 2
          break
        case 0xc6: // bin 32
        case 0xdb: // str 32
          need(bytes, pos, 4, at)
          dataLength = readU32(bytes, pos)
          pos += 4
          break
        case 0xc7:
        case 0xc8:
        case 0xc9:
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          throw new DecodeError(`msgpack extension types are not accepted (byte ${at})`)
        case 0xca: // float 32
          dataLength = 4
          break
        case 0xcb: // float 64
          dataLength = 8
          break
        case 0xcc: // uint 8
        case 0xd0: // int 8
          dataLength = 1
          break
        case 0xcd: // uint 16
        case 0xd1: // int 16
          dataLength = 2
          break
        case 0xce: // uint 32
        case 0xd2: // int 32
          dataLength = 4
          break
        case 0xcf: // uint 64
          need(bytes, pos, 8, at)
          if (readU32(bytes, pos) >= SAFE_HIGH_WORD_LIMIT) throw unsafeInteger(at)
          dataLength = 8
          break
        case 0xd3: {
          // int 64
          need(bytes, pos, 8, at)
          const high = readU32(bytes, pos) | 0
          const low = readU32(bytes, pos + 4)
          // -(2^53 - 1) is the smallest safe integer: high word -2^21 is safe only with a non-zero low word.
          const safe = high >= 0 ? high < SAFE_HIGH_WORD_LIMIT : high > -SAFE_HIGH_WORD_LIMIT || (high === -SAFE_HIGH_WORD_LIMIT && low !== 0)
          if (!safe) throw unsafeInteger(at)
          dataLength = 8
          break
        }
        case 0xdc: // array 16
          need(bytes, pos, 2, at)
          items = readU16(bytes, pos)
          pos += 2
          break
        case 0xdd: // array 32
          need(bytes, pos, 4, at)
          items = readU32(bytes, pos)
          pos += 4
          break
        case 0xde: // map 16
          need(bytes, pos, 2, at)
          items = readU16(bytes, pos) * 2
          pos += 2
          map = true
          break
        case 0xdf: // map 32
          need(bytes, pos, 4, at)
          items = readU32(bytes, pos) * 2
          pos += 4
          map = true
          break
      }
    }

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

function need(bytes: Uint8Array, pos: number, count: number, at: number): void {
  if (count > bytes.length - pos) throw new DecodeError(`truncated msgpack: header at byte ${at} is cut off`)
}

function readU16(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos] as number) << 8) | (bytes[pos + 1] as number)
}

function readU32(bytes: Uint8Array, pos: number): number {
  return (
    (bytes[pos] as number) * 0x1000000 +
    (((bytes[pos + 1] as number) << 16) | ((bytes[pos + 2] as number) << 8) | (bytes[pos + 3] as number))
  )
}

function unsafeInteger(at: number): DecodeError {
  return new DecodeError(`64-bit integer at byte ${at} is outside the safe integer range (|n| < 2^53)`)
}
