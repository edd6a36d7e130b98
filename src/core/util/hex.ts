/**
 * Hex to bytes, for PBFT digests, which live in memory as lowercase hex strings (map keys,
 * comparisons) and travel as 32 raw bytes: every prepare and commit converts one each way (the
 * other way is util/bytes.ts toHex). Written straight into the frame being built, so no
 * intermediate array is made.
 *
 *   writeHex('a1b2...', buffer, offset)   // 32 bytes written, or -1 if not hex
 */

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
