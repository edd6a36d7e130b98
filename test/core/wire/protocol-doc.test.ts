import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CLOSE_TOKEN_PATTERN } from '../../../src/core/chat/close-reason.js'
import { CloseCode } from '../../../src/core/errors.js'
import * as peerLimits from '../../../src/core/peer/limits.js'
import { fromHex, toHex } from '../../../src/core/util/bytes.js'
import * as codecLimits from '../../../src/core/wire/codec-limits.js'
import { decodeFrame, encodeFrame } from '../../../src/core/wire/codec.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import type { EndpointType } from '../../../src/core/wire/payload-types.js'
import { decodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'

/**
 * PROTOCOL.md is a specification other implementations are written from, so its numbers and its
 * worked example are checked against the code here.
 */
const doc = readFileSync(new URL('../../../PROTOCOL.md', import.meta.url), 'utf8')
const errorsSource = readFileSync(new URL('../../../src/core/errors.ts', import.meta.url), 'utf8')
const closeReasonSource = ['chat/close-reason.ts', 'peer/peer.ts']
  .map((file) => readFileSync(new URL(`../../../src/core/${file}`, import.meta.url), 'utf8'))
  .join('\n')

function between(marker: string): string {
  const start = doc.indexOf(`<!-- ${marker} -->`)
  const end = doc.indexOf(`<!-- /${marker} -->`)
  if (start < 0 || end < start) throw new Error(`PROTOCOL.md lacks the ${marker} markers`)
  const block = doc.slice(start, end)
  const fenced = /```[a-z]*\n([\s\S]*?)```/.exec(block)
  if (fenced?.[1] === undefined) throw new Error(`no fenced block inside the ${marker} markers`)
  return fenced[1]
}

/** The hex of an annotated dump: what precedes `#` on each line, whitespace removed. */
function exampleFrame(): Uint8Array {
  const hex = between('hello-example-hex')
    .split('\n')
    .map((line) => line.split('#')[0]?.replace(/\s+/g, '') ?? '')
    .join('')
  return fromHex(hex)
}

interface ExampleValues {
  type: number
  timestamp: number
  payload: {
    peerEndpoint: { id: string; address: string; type: EndpointType }
    blockchainInfo: { height: number; currentBlockHash: string; previousBlockHash: string }
  }
}

const exampleValues = (): ExampleValues => JSON.parse(between('hello-example-values')) as ExampleValues

/** Rows of the doc's tables as arrays of trimmed cells, backquotes removed. */
const rows = doc
  .split('\n')
  .filter((line) => line.startsWith('|') && !line.startsWith('| ---'))
  .map((line) =>
    line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim().replace(/`/g, '')),
  )

describe('PROTOCOL.md worked example', () => {
  it('its hex decodes to the documented envelope and HELLO payload', () => {
    const frame = exampleFrame()
    const values = exampleValues()
    const envelopes = decodeFrame(frame)
    expect(envelopes).toHaveLength(1)
    const [env] = envelopes
    expect(env?.type).toBe(values.type)
    expect(env?.type).toBe(MessageType.DISC_HELLO)
    expect(env?.timestamp).toBe(values.timestamp)
    const hello = decodePayload(MessageType.DISC_HELLO, env?.payload ?? new Uint8Array(0))
    expect(hello.peerEndpoint).toEqual(values.payload.peerEndpoint)
    expect(hello.blockchainInfo.height).toBe(values.payload.blockchainInfo.height)
    expect(toHex(hello.blockchainInfo.currentBlockHash)).toBe(values.payload.blockchainInfo.currentBlockHash)
    expect(toHex(hello.blockchainInfo.previousBlockHash)).toBe(values.payload.blockchainInfo.previousBlockHash)
  })

  it('encoding the documented values gives the documented bytes, and the stated length', () => {
    const values = exampleValues()
    const { blockchainInfo } = values.payload
    const envelope = makeEnvelope(
      MessageType.DISC_HELLO,
      {
        peerEndpoint: values.payload.peerEndpoint,
        blockchainInfo: {
          height: blockchainInfo.height,
          currentBlockHash: fromHex(blockchainInfo.currentBlockHash),
          previousBlockHash: fromHex(blockchainInfo.previousBlockHash),
        },
      },
      values.timestamp,
    )
    const frame = encodeFrame([envelope])
    expect(toHex(frame)).toBe(toHex(exampleFrame()))
    expect(doc).toContain(`The frame is ${frame.length} bytes.`)
  })
})

describe('PROTOCOL.md tables', () => {
  it('quote every codec and peer limit with its value', () => {
    const constants = Object.entries({ ...codecLimits, ...peerLimits }).filter(
      (entry): entry is [string, number] => typeof entry[1] === 'number',
    )
    expect(constants.length).toBeGreaterThan(30)
    for (const [name, value] of constants) {
      const row = rows.find((cells) => cells[0] === name)
      expect(row, `${name} has no row in the Limits table`).toBeDefined()
      expect(Number(row?.[1]), name).toBe(value)
    }
  })

  it('list every close code with its name', () => {
    for (const [name, code] of Object.entries(CloseCode)) {
      expect(rows.some((cells) => cells[0] === String(code) && cells[1] === name), `${code} ${name}`).toBe(true)
    }
  })

  it('list every message type with its number', () => {
    for (const [name, type] of Object.entries(MessageType)) {
      expect(rows.some((cells) => cells[0] === String(type) && cells[1] === name), `${type} ${name}`).toBe(true)
    }
  })

  it('name only error codes the code can send', () => {
    const codes = rows.map((cells) => cells[0] ?? '').filter((cell) => /^ERR_[A-Z_]+$/.test(cell))
    expect(codes.length).toBeGreaterThan(5)
    for (const code of codes) expect(errorsSource + closeReasonSource, code).toContain(`'${code}'`)
  })

  it('give a close-reason token (13.1) for every close code a peer sends', () => {
    const section = doc.slice(doc.indexOf('### 13.1 Close reasons'), doc.indexOf('## 14. Limits'))
    const tokenRows = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').map((cell) => cell.trim().replace(/`/g, '')))
    const neverSent = new Set<number>([CloseCode.NO_STATUS, CloseCode.ABNORMAL, CloseCode.TRY_AGAIN_LATER])
    for (const code of Object.values(CloseCode)) {
      if (neverSent.has(code)) continue
      expect(tokenRows.some((cells) => cells[2] === String(code)), `close code ${code} has no token row`).toBe(true)
    }
    for (const cells of tokenRows) for (const token of (cells[1] ?? '').split(', ')) expect(token).toMatch(CLOSE_TOKEN_PATTERN)
  })
})
