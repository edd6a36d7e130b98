/**
 * Node's offset-taking UTF-8 calls for the core's hot paths (src/core/util/utf8.ts says why).
 * `Buffer.prototype.utf8Write` and `utf8Slice` accept any Uint8Array as `this`, so the core's
 * plain arrays need no Buffer wrapper; test/node/native-utf8.test.ts checks they give the portable
 * codec's bytes and strings.
 */
import { Buffer } from 'node:buffer'
import { useUtf8Codec, type Utf8Codec } from '../core/util/utf8.js'

interface BufferUtf8 {
  utf8Write(this: Uint8Array, text: string, offset: number): number
  utf8Slice(this: Uint8Array, start: number, end: number): string
}

const proto = Buffer.prototype as unknown as BufferUtf8
const write = proto.utf8Write
const slice = proto.utf8Slice

export const nodeUtf8: Utf8Codec = {
  write: (target, text, offset) => write.call(target, text, offset),
  read: (bytes, start, end) => slice.call(bytes, start, end),
}

export function installNativeUtf8(): void {
  useUtf8Codec(nodeUtf8)
}
