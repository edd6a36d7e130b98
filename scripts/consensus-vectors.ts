/**
 * Prints the test vectors of PROTOCOL.md sections 8.1.7 (HELLO handshake), 11.3 (noops) and 11.4
 * (PBFT) as JSON, ready to paste between the doc's `*-vectors` markers. Each vector holds the
 * input values and the bytes the real encoder gives for them; test/core/wire/protocol-doc.test.ts
 * encodes the values and compares the bytes, and decodes the bytes back to the values, so a doc
 * that drifts from the code fails the tests. Regenerate with:
 *
 *   npx tsx scripts/consensus-vectors.ts
 *
 * Values only JSON can carry: binary fields are lowercase hex strings (PBFT digests are hex in
 * memory already; noops block hashes and handshake bytes are converted).
 */
import { Packr } from 'msgpackr'
import { keyPairFromSeed } from '../src/core/identity/key-pair.js'
import { handshakeTranscript, SignerRole } from '../src/core/identity/handshake-transcript.js'
import { hashBlock as blockHash, genesisBlock } from '../src/core/ledger/block-hash.js'
import { encodeNoopsMessage } from '../src/core/consensus/noops/noops-messages.js'
import { batchDigest, type PbftBatch } from '../src/core/consensus/pbft/batch.js'
import { encodePbftMessage, type PbftMessage } from '../src/core/consensus/pbft/messages.js'
import { fromHex, toHex } from '../src/core/util/bytes.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { EndpointType, type Transaction } from '../src/core/wire/payload-types.js'
import { encodePayload } from '../src/core/wire/payloads.js'

const tx: Transaction = { txid: 't1', payload: 'a=1', timestamp: 5, origin: 'tab-1' }
const batch: PbftBatch = { timestamp: 1_700_000_000_000, proposer: 'vp0', txs: [tx] }
const d = batchDigest({ ...batch, txs: [...batch.txs] })
const genesis = toHex(blockHash(genesisBlock()))

/** The PBFT vectors: one of each message type, a null request, and a bundle. */
export function pbftVectorMessages(): { name: string; message: PbftMessage }[] {
  return [
    { name: 'request forwarding', message: { t: 'req', x: [tx] } },
    { name: 'pre-prepare of a batch', message: { t: 'pp', v: 0, n: 1, r: 0, b: batch } },
    { name: 'pre-prepare of a null request', message: { t: 'pp', v: 0, n: 2, r: 0, b: null } },
    { name: 'prepare', message: { t: 'p', v: 0, n: 1, r: 1, d } },
    { name: 'prepare of a null request', message: { t: 'p', v: 0, n: 2, r: 1, d: '' } },
    { name: 'commit', message: { t: 'c', v: 0, n: 1, r: 2, d } },
    { name: 'checkpoint', message: { t: 'ck', n: 10, r: 3, d: genesis } },
    { name: 'view change', message: { t: 'vc', v: 1, r: 2, h: 0, C: [[0, genesis]], P: [[1, d, 0]], Q: [[1, d, 0], [2, '', 0]] } },
    { name: 'new view', message: { t: 'nv', v: 1, r: 1, V: [0, 1, 2], k: [0, genesis], X: [[1, d], [2, '']] } },
    { name: 'fetch batch', message: { t: 'fb', r: 3, d } },
    { name: 'return batch', message: { t: 'rb', r: 0, b: batch } },
    { name: 'view status', message: { t: 'vs', v: 1, r: 2 } },
    { name: 'bundle', message: { t: 'm', m: [{ t: 'p', v: 0, n: 1, r: 1, d }, { t: 'c', v: 0, n: 1, r: 1, d }] } },
  ]
}

/**
 * What a generic msgpack decoder shows for `bytes`, bin values as lowercase hex strings: the
 * vectors' `value`, so a reader sees the wire keys, not wspeer's in-memory names.
 */
export function wireView(bytes: Uint8Array): unknown {
  const show = (value: unknown): unknown => {
    if (value instanceof Uint8Array) return toHex(value)
    if (Array.isArray(value)) return value.map(show)
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, show(v)]))
    return value
  }
  return show(unpacker.unpack(bytes))
}

const unpacker = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, mapsAsObjects: true })

export function pbftVectors(): { name: string; value: unknown; hex: string }[] {
  return pbftVectorMessages().map(({ name, message }) => {
    const bytes = encodePbftMessage(message)
    return { name, value: wireView(bytes), hex: toHex(bytes) }
  })
}

/** noops vectors, hashes as hex. */
export function noopsVectors(): { name: string; value: unknown; hex: string }[] {
  const block = {
    number: 1,
    previousBlockHash: genesis,
    stateHash: 'e425fa41ee5e0b61d0eb2a9eb065e294f1af5d57d95a4bf4d2953c03a82c38e1',
    timestamp: 1000,
    proposer: 'vp0',
    transactions: [
      { txid: 't1', payload: 'a=1', timestamp: 5, origin: 'vp1' },
      { txid: 't2', payload: 'hello', timestamp: 6, origin: 'vp2' },
    ],
  }
  const tx1 = { kind: 'tx' as const, tx, hops: 1 }
  const blk = { kind: 'block' as const, block }
  return [
    { name: 'transaction forwarded to the leader', value: tx1, hex: toHex(encodeNoopsMessage(tx1)) },
    {
      name: 'block from the leader',
      value: blk,
      hex: toHex(encodeNoopsMessage({ kind: 'block', block: { ...block, previousBlockHash: fromHex(block.previousBlockHash), stateHash: fromHex(block.stateHash) } })),
    },
  ]
}

/** RFC 8032 section 7.1 tests 1 and 2: the dialer's and the acceptor's private seeds. */
export const HANDSHAKE_SEEDS = {
  dialer: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  acceptor: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
}

export interface HandshakeVectors {
  dialerSeed: string
  acceptorSeed: string
  dialerNonce: string
  acceptorNonce: string
  dialedAddress: string
  dialer: { id: string; address: string; type: number; pkiId: string; publicKey: string }
  acceptor: { id: string; address: string; type: number; pkiId: string; publicKey: string }
  transcriptAcceptor: string
  transcriptDialer: string
  signatureAcceptor: string
  signatureDialer: string
  /** The `auth` maps of steps 1, 2 and 3, each msgpack-encoded alone (as inside the HELLO payload). */
  authStep1: string
  authStep2: string
  authStep3: string
  /** The whole DISC_HELLO payload of step 1 (peerEndpoint, blockchainInfo of a fresh chain, auth). */
  helloStep1: string
}

export async function handshakeVectors(): Promise<HandshakeVectors> {
  const dk = await keyPairFromSeed(fromHex(HANDSHAKE_SEEDS.dialer))
  const ak = await keyPairFromSeed(fromHex(HANDSHAKE_SEEDS.acceptor))
  const nD = new Uint8Array(32).fill(0x11)
  const nA = new Uint8Array(32).fill(0x22)
  const dialedAddress = 'ws://127.0.0.1:7051/chat'
  const dialerEp = { id: 'vp1', address: 'ws://127.0.0.1:7052/chat', type: EndpointType.VALIDATOR }
  const acceptorEp = { id: 'vp0', address: 'ws://127.0.0.1:7051/chat', type: EndpointType.VALIDATOR }
  const ends = {
    dialer: { endpoint: dialerEp, keyId: dk.keyId, publicKey: dk.publicKey },
    acceptor: { endpoint: acceptorEp, keyId: ak.keyId, publicKey: ak.publicKey },
  }
  const tA = handshakeTranscript({ signer: SignerRole.ACCEPTOR, dialerNonce: nD, acceptorNonce: nA, dialedAddress, ...ends })
  const tD = handshakeTranscript({ signer: SignerRole.DIALER, dialerNonce: nD, acceptorNonce: nA, dialedAddress, ...ends })
  const sigA = await ak.sign(tA)
  const sigD = await dk.sign(tD)
  // The `auth` map alone, as the payload encoder writes it inside the HELLO.
  const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, variableMapSize: true })
  const pack = (value: unknown): string => toHex(new Uint8Array(packr.pack(value)))
  const genesisHash = blockHash(genesisBlock())
  const hello1 = encodePayload(MessageType.DISC_HELLO, {
    peerEndpoint: { ...dialerEp, pkiId: dk.keyId },
    blockchainInfo: { height: 1, currentBlockHash: genesisHash, previousBlockHash: new Uint8Array(0) },
    auth: { step: 1, nonce: nD, publicKey: dk.publicKey, dialedAddress },
  })
  return {
    dialerSeed: HANDSHAKE_SEEDS.dialer,
    acceptorSeed: HANDSHAKE_SEEDS.acceptor,
    dialerNonce: toHex(nD),
    acceptorNonce: toHex(nA),
    dialedAddress,
    dialer: { ...dialerEp, pkiId: dk.keyIdHex, publicKey: toHex(dk.publicKey) },
    acceptor: { ...acceptorEp, pkiId: ak.keyIdHex, publicKey: toHex(ak.publicKey) },
    transcriptAcceptor: toHex(tA),
    transcriptDialer: toHex(tD),
    signatureAcceptor: toHex(sigA),
    signatureDialer: toHex(sigD),
    authStep1: pack({ step: 1, nonce: nD, publicKey: dk.publicKey, dialedAddress }),
    authStep2: pack({ step: 2, nonce: nA, publicKey: ak.publicKey, signature: sigA }),
    authStep3: pack({ step: 3, signature: sigD }),
    helloStep1: toHex(hello1),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const fence = (marker: string, json: string) => console.log(`<!-- ${marker} -->\n\`\`\`json\n${json}\n\`\`\`\n<!-- /${marker} -->\n`)
  // One vector per few lines: the value on one line, the bytes on the next.
  const list = (vectors: { name: string; value: unknown; hex: string }[]) =>
    `[\n${vectors.map((v) => `  {\n    "name": ${JSON.stringify(v.name)},\n    "value": ${JSON.stringify(v.value)},\n    "hex": "${v.hex}"\n  }`).join(',\n')}\n]`
  fence('hello-auth-vectors', JSON.stringify(await handshakeVectors(), null, 2))
  fence('noops-vectors', list(noopsVectors()))
  fence('pbft-vectors', list(pbftVectors()))
}
