/**
 * Prints the annotated hex dump of PROTOCOL.md's worked example (one DISC_HELLO envelope in one
 * frame) and the JSON of its values, ready to paste between the doc's example markers.
 * test/core/wire/protocol-doc.test.ts decodes what the doc holds and re-encodes the values, so a
 * doc that drifts from the code fails the tests; run this to regenerate it:
 *
 *   npx tsx scripts/protocol-example.ts
 */
import { encodeFrame } from '../src/core/wire/codec.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { EndpointType } from '../src/core/wire/payload-types.js'
import type { HelloPayload } from '../src/core/wire/payload-types.js'
import { makeEnvelope } from '../src/core/wire/payloads.js'
import { toHex } from '../src/core/util/bytes.js'

const TIMESTAMP = 1_700_000_000_000
const hello: HelloPayload = {
  peerEndpoint: { id: 'vp0', address: 'ws://127.0.0.1:7051/chat', type: EndpointType.VALIDATOR },
  blockchainInfo: {
    height: 1,
    currentBlockHash: Uint8Array.from({ length: 32 }, (_, i) => i),
    previousBlockHash: new Uint8Array(0),
  },
}
const frame = encodeFrame([makeEnvelope(MessageType.DISC_HELLO, hello, TIMESTAMP)])

/** Column where the notes start; the widest line (16 bytes, indented 18) ends at 65. */
const NOTE_COLUMN = 68
const lines: string[] = []
let pos = 0
const take = (n: number) => {
  const bytes = frame.subarray(pos, pos + n)
  pos += n
  return bytes
}
const emit = (bytes: Uint8Array, indent: number, note: string) => {
  const hex = toHex(bytes).replace(/(..)/g, '$1 ').trim()
  // Long runs wrap at 16 bytes; the note goes on the first line.
  for (let i = 0; i < hex.length; i += 48) {
    const chunk = hex.slice(i, i + 47)
    lines.push(`${' '.repeat(indent)}${chunk.padEnd(NOTE_COLUMN - indent)}${i === 0 ? `# ${note}` : '#'}`)
  }
}



/** Explains one msgpack value at `pos`, recursively; only the forms this example uses. */
function explain(indent: number, label: string): void {
  const b = frame[pos] as number
  if (b >= 0x80 && b <= 0x8f) {
    emit(take(1), indent, `${label}map, ${b & 0x0f} entries`)
    for (let i = 0; i < (b & 0x0f); i++) {
      const keyLength = (frame[pos] as number) & 0x1f
      const key = new TextDecoder().decode(frame.subarray(pos + 1, pos + 1 + keyLength))
      emit(take(1 + keyLength), indent + 2, `key: str(${keyLength}) "${key}"`)
      explain(indent + 4, `value of "${key}": `)
    }
  } else if (b >= 0x90 && b <= 0x9f) {
    emit(take(1), indent, `${label}array, ${b & 0x0f} element(s)`)
    for (let i = 0; i < (b & 0x0f); i++) explain(indent + 2, `[${i}] `)
  } else if (b <= 0x7f) {
    emit(take(1), indent, `${label}positive fixint ${b}`)
  } else if (b >= 0xa0 && b <= 0xbf) {
    const n = b & 0x1f
    const text = new TextDecoder().decode(frame.subarray(pos + 1, pos + 1 + n))
    emit(take(1 + n), indent, `${label}str(${n}) "${text}"`)
  } else if (b === 0xd9) {
    const n = frame[pos + 1] as number
    const text = new TextDecoder().decode(frame.subarray(pos + 2, pos + 2 + n))
    emit(take(2), indent, `${label}str 8, length ${n}`)
    emit(take(n), indent + 2, `"${text}"`)
  } else if (b === 0xc4) {
    const n = frame[pos + 1] as number
    emit(take(2), indent, `${label}bin 8, length ${n}`)
    if (label.includes('"payload"')) {
      // The payload bin holds the HELLO payload's own msgpack encoding: explain it too.
      const end = pos + n
      explain(indent + 2, 'payload bytes: ')
      if (pos !== end) throw new Error('protocol-example: payload length mismatch')
    } else if (n > 0) {
      emit(take(n), indent + 2, `${n} bytes`)
    }
  } else if (b === 0xcb) {
    const value = new DataView(frame.buffer, frame.byteOffset + pos + 1, 8).getFloat64(0)
    emit(take(9), indent, `${label}float 64: ${value}`)
  } else {
    throw new Error(`protocol-example: byte 0x${b.toString(16)} is not handled`)
  }
}

explain(0, 'frame: ')
if (pos !== frame.length) throw new Error('protocol-example: bytes left over')

const values = {
  type: MessageType.DISC_HELLO,
  timestamp: TIMESTAMP,
  payload: {
    peerEndpoint: hello.peerEndpoint,
    blockchainInfo: {
      height: hello.blockchainInfo.height,
      currentBlockHash: toHex(hello.blockchainInfo.currentBlockHash),
      previousBlockHash: toHex(hello.blockchainInfo.previousBlockHash),
    },
  },
}
console.log(`<!-- hello-example-hex -->\n\`\`\`text\n${lines.join('\n')}\n\`\`\`\n<!-- /hello-example-hex -->`)
console.log(`\nThe frame is ${frame.length} bytes. The values it carries (bin fields as hex strings):\n`)
console.log(`<!-- hello-example-values -->\n\`\`\`json\n${JSON.stringify(values, null, 2)}\n\`\`\`\n<!-- /hello-example-values -->`)
