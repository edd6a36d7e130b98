/**
 * Hex for PBFT digests, which live in memory as lowercase hex strings (map keys, comparisons) and
 * travel as 32 raw bytes: every prepare and commit converts one each way. A table lookup per byte,
 * and conversion straight from or into a larger buffer, so no intermediate array is made.
 *
 *   hexOf(digestBytes)                    // 'a1b2...'
 *   writeHex('a1b2...', buffer, offset)   // 32 bytes written, or -1 if not hex
 */

const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of bytes[start..end). */
export function hexOf(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = ''
  for (let i = start; i < end; i++) out += BYTE_HEX[bytes[i] as number]
  return out
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const lower = code | 0x20
  if (lower >= 97 && lower <= 102) return lower - 87
  return -1
}

/** Writes the bytes a hex string stands for at `offset`; returns how many, or -1 when it is not hex. */
export function writeHex(hex: string, out: Uint8Array, offset: number): number {
  if (hex.length % 2 !== 0) return -1
  const count = hex.length / 2
  for (let i = 0; i < count; i++) {
    const hi = nibble(hex.charCodeAt(2 * i))
    const lo = nibble(hex.charCodeAt(2 * i + 1))
    if (hi < 0 || lo < 0) return -1
    out[offset + i] = (hi << 4) | lo
  }
  return count
}
