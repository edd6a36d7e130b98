import { readFileSync } from 'node:fs'
import { Packr } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import * as closeReasonConstants from '../../../src/core/chat/close-reason.js'
import { CLOSE_TOKEN_PATTERN } from '../../../src/core/chat/close-reason.js'
import { CloseCode } from '../../../src/core/errors.js'
import * as peerLimits from '../../../src/core/peer/limits.js'
import { fromHex, toHex } from '../../../src/core/util/bytes.js'
import * as codecLimits from '../../../src/core/wire/codec-limits.js'
import { decodeFrame, encodeFrame } from '../../../src/core/wire/codec.js'
import { MessageType } from '../../../src/core/wire/message-type.js'
import type { EndpointType } from '../../../src/core/wire/payload-types.js'
import { decodePayload, encodePayload, makeEnvelope } from '../../../src/core/wire/payloads.js'
import type { Block, Transaction } from '../../../src/core/wire/payload-types.js'
import { batchDigest, type PbftBatch } from '../../../src/core/consensus/pbft/batch.js'
import { decodePbftMessage, encodePbftMessage, type PbftMessage } from '../../../src/core/consensus/pbft/messages.js'
import { decodeNoopsMessage, encodeNoopsMessage, type NoopsMessage } from '../../../src/core/consensus/noops/noops-messages.js'
import { handshakeTranscript, SignerRole } from '../../../src/core/identity/handshake-transcript.js'
import { messageFromHello } from '../../../src/core/identity/handshake-messages.js'
import { keyPairFromSeed, verifySignature } from '../../../src/core/identity/key-pair.js'
import { hashBlock } from '../../../src/core/ledger/block-hash.js'
import * as noopsConstants from '../../../src/core/consensus/noops/constants.js'
import * as pbftConfig from '../../../src/core/consensus/pbft/config.js'
import * as pbftMessages from '../../../src/core/consensus/pbft/messages.js'
import * as pbftStateTransfer from '../../../src/core/consensus/pbft/state-transfer.js'

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

  it('quote the consensus plugins\' and close reasons\' constants with their values (11.3, 11.4, 13.1)', () => {
    const constants: Record<string, unknown> = { ...noopsConstants, ...pbftConfig, ...pbftMessages, ...pbftStateTransfer, ...closeReasonConstants }
    // `NAME` (value), the value in bytes, ms or KiB.
    const quoted = [...doc.matchAll(/`([A-Z][A-Z0-9_]+)` \((\d+)( KiB| ms)?[ )]/g)].filter((m) => m[1] !== undefined && m[1] in constants)
    expect(quoted.length).toBeGreaterThanOrEqual(11)
    for (const [, name, value, unit] of quoted) expect(Number(value) * (unit === ' KiB' ? 1024 : 1), name).toBe(constants[name!])
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

// ---- consensus and handshake vectors (PROTOCOL.md 8.1.7, 11.3, 11.4) ----

interface Vector {
  name: string
  value: Record<string, unknown>
  hex: string
}

const vectors = (marker: string): Vector[] => JSON.parse(between(marker)) as Vector[]

/** What any msgpack decoder shows for the bytes, bin as hex: the doc's `value`s are this view. */
const generic = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, mapsAsObjects: true })
function wireView(bytes: Uint8Array): Record<string, unknown> {
  const show = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return toHex(value)
    if (Array.isArray(value)) return value.map(show)
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, show(v)]))
    return value
  }
  return show(generic.unpack(bytes)) as Record<string, unknown>
}

type Wire = Record<string, unknown>
const txOf = (w: Wire): Transaction => ({ txid: w.i as string, payload: w.y as string, timestamp: w.s as number, origin: w.o as string })
const batchOf = (w: Wire): PbftBatch => ({ timestamp: w.s as number, proposer: w.p as string, txs: (w.x as Wire[]).map(txOf) })

/** The wire view as the PbftMessage the code works with (digests are hex in memory too). */
function pbftOf(w: Wire): PbftMessage {
  switch (w.t) {
    case 'req':
      return { t: 'req', x: (w.x as Wire[]).map(txOf) }
    case 'pp':
      return { t: 'pp', v: w.v as number, n: w.n as number, r: w.r as number, b: w.b === null ? null : batchOf(w.b as Wire) }
    case 'rb':
      return { t: 'rb', r: w.r as number, b: batchOf(w.b as Wire) }
    case 'm':
      return { t: 'm', m: (w.m as string[]).map((part) => pbftOf(wireView(fromHex(part)))) }
    default:
      return { ...w } as unknown as PbftMessage
  }
}

describe('PROTOCOL.md PBFT vectors (11.4)', () => {
  const list = vectors('pbft-vectors')

  it('cover every PBFT message type', () => {
    expect(new Set(list.map((v) => v.value.t))).toEqual(new Set(['req', 'pp', 'p', 'c', 'ck', 'vc', 'nv', 'fb', 'rb', 'vs', 'm']))
  })

  it.each(list.map((v) => [v.name, v] as const))('%s: the bytes show the documented value', (_name, v) => {
    expect(wireView(fromHex(v.hex))).toEqual(v.value)
  })

  it.each(list.map((v) => [v.name, v] as const))('%s: the encoder gives the bytes and the decoder reads them back', (_name, v) => {
    const message = pbftOf(v.value)
    expect(toHex(encodePbftMessage(message))).toBe(v.hex)
    expect(decodePbftMessage(fromHex(v.hex))).toEqual(message)
  })

  it.each([
    ['pbft-layout-prepare', 'prepare'],
    ['pbft-layout-pre-prepare', 'pre-prepare of a batch'],
  ])('the annotated layout %s is the bytes of the %s vector', (marker, name) => {
    const hex = between(marker)
      .split('\n')
      .map((line) => line.split('#')[0]?.replace(/\s+/g, '') ?? '')
      .join('')
    expect(hex).toBe(list.find((v) => v.name === name)!.hex)
  })

  it('the pre-prepared digest is the body hash of the batch (12)', () => {
    const pp = list.find((v) => v.value.t === 'pp' && v.value.b !== null)!
    const prepare = list.find((v) => v.value.t === 'p' && v.value.d !== '')!
    expect(batchDigest(batchOf(pp.value.b as Wire))).toBe(prepare.value.d)
  })
})

describe('PROTOCOL.md noops vectors (11.3)', () => {
  const hashed = (w: Wire): NoopsMessage => {
    if (w.kind === 'tx') return w as unknown as NoopsMessage
    const block = w.block as Wire
    return {
      kind: 'block',
      block: { ...(block as unknown as Block), previousBlockHash: fromHex(block.previousBlockHash as string), stateHash: fromHex(block.stateHash as string) },
    }
  }

  it.each(vectors('noops-vectors').map((v) => [v.name, v] as const))('%s: bytes, value, encoder and decoder agree', (_name, v) => {
    expect(wireView(fromHex(v.hex))).toEqual(v.value)
    const message = hashed(v.value)
    expect(toHex(encodeNoopsMessage(message))).toBe(v.hex)
    expect(decodeNoopsMessage(fromHex(v.hex))).toEqual(message)
  })

  it('the block vector is the block of section 12, whose hash it chains to', () => {
    const block = hashed(vectors('noops-vectors').find((v) => v.value.kind === 'block')!.value) as Extract<NoopsMessage, { kind: 'block' }>
    expect(toHex(hashBlock(block.block))).toBe('ef7635138d5e570674b5dbf2d8463612a95ae04f31788922a5437dab70dce6dd')
  })
})

describe('PROTOCOL.md HELLO handshake vectors (8.1.7)', () => {
  const hv = JSON.parse(between('hello-auth-vectors')) as Record<string, unknown> & {
    dialer: Record<string, string | number>
    acceptor: Record<string, string | number>
  }
  const s = (key: string): string => hv[key] as string
  const endOf = (e: Record<string, string | number>, publicKey: Uint8Array) => ({
    endpoint: { id: e.id as string, address: e.address as string, type: e.type as EndpointType },
    keyId: fromHex(e.pkiId as string),
    publicKey,
  })

  it('keys, key ids, transcripts and signatures follow from the seeds and nonces', async () => {
    const dk = await keyPairFromSeed(fromHex(s('dialerSeed')))
    const ak = await keyPairFromSeed(fromHex(s('acceptorSeed')))
    expect(toHex(dk.publicKey)).toBe(hv.dialer.publicKey)
    expect(toHex(ak.publicKey)).toBe(hv.acceptor.publicKey)
    expect(dk.keyIdHex).toBe(hv.dialer.pkiId)
    expect(ak.keyIdHex).toBe(hv.acceptor.pkiId)
    const common = {
      dialerNonce: fromHex(s('dialerNonce')),
      acceptorNonce: fromHex(s('acceptorNonce')),
      dialedAddress: s('dialedAddress'),
      dialer: endOf(hv.dialer, dk.publicKey),
      acceptor: endOf(hv.acceptor, ak.publicKey),
    }
    const tA = handshakeTranscript({ ...common, signer: SignerRole.ACCEPTOR })
    const tD = handshakeTranscript({ ...common, signer: SignerRole.DIALER })
    expect(toHex(tA)).toBe(s('transcriptAcceptor'))
    expect(toHex(tD)).toBe(s('transcriptDialer'))
    // Ed25519 is deterministic: the same key and bytes give the same signature everywhere.
    expect(toHex(await ak.sign(tA))).toBe(s('signatureAcceptor'))
    expect(toHex(await dk.sign(tD))).toBe(s('signatureDialer'))
    expect(await verifySignature(ak.publicKey, tA, fromHex(s('signatureAcceptor')))).toBe(true)
    expect(await verifySignature(dk.publicKey, tD, fromHex(s('signatureDialer')))).toBe(true)
  })

  it('the auth maps of steps 1-3 are what the HELLO encoder writes and the handshake reads', () => {
    const dialerEndpoint = { id: hv.dialer.id as string, address: hv.dialer.address as string, type: hv.dialer.type as EndpointType, pkiId: fromHex(hv.dialer.pkiId as string) }
    const auths = [
      { step: 1, nonce: fromHex(s('dialerNonce')), publicKey: fromHex(hv.dialer.publicKey as string), dialedAddress: s('dialedAddress') },
      { step: 2, nonce: fromHex(s('acceptorNonce')), publicKey: fromHex(hv.acceptor.publicKey as string), signature: fromHex(s('signatureAcceptor')) },
      { step: 3, signature: fromHex(s('signatureDialer')) },
    ]
    const info = { height: 1, currentBlockHash: fromHex('bc0f57c6445a9a30ec36973c1c3edaed5dbd6b8503073674ecf29f6c6f5ae6fb'), previousBlockHash: new Uint8Array(0) }
    auths.forEach((auth, i) => {
      const documented = s(`authStep${i + 1}`)
      const payload = encodePayload(MessageType.DISC_HELLO, { peerEndpoint: dialerEndpoint, blockchainInfo: info, auth })
      // `auth` is the payload's last key: its map is the payload's tail.
      expect(toHex(payload).endsWith(documented), `step ${i + 1}`).toBe(true)
      const decoded = decodePayload(MessageType.DISC_HELLO, payload)
      expect(messageFromHello(decoded.peerEndpoint, decoded.auth)).toMatchObject({ step: i + 1 })
      expect(wireView(fromHex(documented))).toEqual(wireView(generic.pack(auth)))
      if (i === 0) expect(toHex(payload)).toBe(s('helloStep1'))
    })
  })
})
