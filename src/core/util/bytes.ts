/** Small byte helpers on Uint8Array, so the core needs no Node byte type. */

/** Char codes of each byte's two lowercase hex digits: HEX_CODES[2b], HEX_CODES[2b + 1]. */
const HEX_CODES = new Uint16Array(512)
for (let b = 0; b < 256; b++) {
  const digits = b.toString(16).padStart(2, '0')
  HEX_CODES[2 * b] = digits.charCodeAt(0)
  HEX_CODES[2 * b + 1] = digits.charCodeAt(1)
}
/** Hashes are 32 bytes: their 64 char codes go through one reused array. */
const HASH_HEX_CODES: number[] = new Array<number>(64).fill(0)
/** Longest hex made in one String.fromCharCode call (engines cap the argument count). */
const HEX_CHUNK_BYTES = 4096

/**
 * Lowercase hex of bytes[start..end). Digests become hex on every prepare, commit and block, so
 * this makes one flat string from char codes: appending two digits at a time made 31 intermediate
 * strings per hash, about a kilobyte of garbage, and took 2.5x as long.
 */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const n = end - start
  if (n > HEX_CHUNK_BYTES) return toHex(bytes, start, start + HEX_CHUNK_BYTES) + toHex(bytes, start + HEX_CHUNK_BYTES, end)
  if (n <= 0) return ''
  const codes = n === 32 ? HASH_HEX_CODES : new Array<number>(2 * n)
  for (let i = 0; i < n; i++) {
    const at = 2 * (bytes[start + i] as number)
    codes[2 * i] = HEX_CODES[at] as number
    codes[2 * i + 1] = HEX_CODES[at + 1] as number
  }
  return String.fromCharCode.apply(null, codes)
}

export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError('not a hex string')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function randomHex(bytes: number): string {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(bytes)))
}
