/**
 * Node's offset-taking UTF-8 calls for the core's hot paths (src/core/util/utf8.ts says why),
 * through documented APIs only: `buf.write(string, offset, length, 'utf8')` and
 * `buf.toString('utf8', start, end)`. Both need a Buffer, and the core holds plain Uint8Arrays, so
 * a Buffer view over the array is made once per array and reused while calls keep coming for the
 * same one (a writer puts many strings into one frame or record; a reader takes many from one).
 * That keeps the portable codec's per-string `subarray` away without Node's internal
 * `utf8Write`/`utf8Slice`. The cache holds at most one array per direction until the next array
 * arrives. test/node/native-utf8.test.ts checks the bytes and strings equal the portable codec's.
 */
import { Buffer } from 'node:buffer'
import { useUtf8Codec, type Utf8Codec } from '../core/util/utf8.js'

let writeArray: Uint8Array | undefined
let writeView: Buffer = Buffer.alloc(0)
let readArray: Uint8Array | undefined
let readView: Buffer = Buffer.alloc(0)

function viewOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

export const nodeUtf8: Utf8Codec = {
  write: (target, text, offset) => {
    if (target !== writeArray) {
      writeView = viewOf(target)
      writeArray = target
    }
    return writeView.write(text, offset, writeView.length - offset, 'utf8')
  },
  read: (bytes, start, end) => {
    if (bytes !== readArray) {
      readView = viewOf(bytes)
      readArray = bytes
    }
    return readView.toString('utf8', start, end)
  },
}

export function installNativeUtf8(): void {
  useUtf8Codec(nodeUtf8)
}
