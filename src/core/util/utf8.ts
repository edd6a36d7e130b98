/**
 * UTF-8 into and out of a byte array at an offset, for the writers and readers on the hot path
 * (hash writers, the PBFT codec, the block store).
 *
 * Why not TextEncoder/TextDecoder directly: they take whole arrays, so writing at an offset needs a
 * `subarray` view, an object per string. Allocation profiles of validators at batch 100 showed
 * those views as about 0.9 KB of every transaction's 2.9 KB of garbage, and young-generation GC
 * was the largest single cost there. The portable codec below still makes them; a runtime with
 * offset-taking calls installs its own at startup (the Node entry does: src/node/native-utf8.ts).
 * Both give the same bytes and strings: lone surrogates are written as U+FFFD, invalid bytes read
 * as U+FFFD (WHATWG), and a BOM is kept as a character.
 */
export interface Utf8Codec {
  /**
   * Writes `text` as UTF-8 at `offset` and returns the bytes written. The caller guarantees room
   * for 3 bytes per UTF-16 code unit; a codec may stop short of the end otherwise.
   */
  write(target: Uint8Array, text: string, offset: number): number
  /** The string that bytes start..end (exclusive) encode. */
  read(bytes: Uint8Array, start: number, end: number): string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { ignoreBOM: true })

/** TextEncoder/TextDecoder over subarray views: runs anywhere. */
export const portableUtf8: Utf8Codec = {
  write: (target, text, offset) => encoder.encodeInto(text, target.subarray(offset)).written,
  read: (bytes, start, end) => decoder.decode(bytes.subarray(start, end)),
}

let codec: Utf8Codec = portableUtf8

/** Replaces the codec every utf8Write/utf8Read call uses. It must give exactly the portable codec's results. */
export function useUtf8Codec(next: Utf8Codec): void {
  codec = next
}

/**
 * ASCII strings up to this many characters are written here, byte by byte (default 32): IDs,
 * origins, state keys. A native call costs about 50 ns whatever the length, and a short loop less.
 */
export const UTF8_SHORT_ASCII = 32

export function utf8Write(target: Uint8Array, text: string, offset: number): number {
  const n = text.length
  if (n <= UTF8_SHORT_ASCII) {
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i)
      // Not ASCII: the codec writes the whole string again from `offset`.
      if (c >= 0x80) return codec.write(target, text, offset)
      target[offset + i] = c
    }
    return n
  }
  return codec.write(target, text, offset)
}

export function utf8Read(bytes: Uint8Array, start: number, end: number): string {
  return codec.read(bytes, start, end)
}
