/**
 * Development helper (not part of `npm run bench`): four PBFT consenters and memory ledgers in one
 * process, messages handed over through a FIFO (encoded and decoded as on the wire, no sockets, no
 * engine), to see what the consensus and ledger work alone costs per block.
 * `npx tsx bench/dev-inproc.ts [batchSize] [transactions]` (measured after a warm-up of a quarter as many).
 */
import { installNativeSha256 } from '../src/node/native-hash.js'
import { installNativeUtf8 } from '../src/node/native-utf8.js'
import type { BroadcastTarget, NetworkInfo, PeerInfo, Stack } from '../src/core/consensus/consenter.js'
import { createPbftConsenter, type PbftConsenter } from '../src/core/consensus/pbft/pbft-consenter.js'
import { createMemoryLedger } from '../src/core/ledger/memory-ledger.js'
import { ManualClock } from '../src/core/util/clock.js'
import { silentLogger } from '../src/core/util/logger.js'
import type { Envelope } from '../src/core/wire/envelope.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { EndpointType, type PeerEndpoint } from '../src/core/wire/payload-types.js'
import { makeEnvelope } from '../src/core/wire/payloads.js'

installNativeSha256()
installNativeUtf8()
const batchSize = Number(process.argv[2] ?? 1)
const total = Number(process.argv[3] ?? 60_000)
const ids = ['vp0', 'vp1', 'vp2', 'vp3']
const clock = new ManualClock(1)
const queue: { to: number; from: string; msg: Envelope }[] = []
const consenters: PbftConsenter[] = []
const info = (id: string): PeerInfo => ({ id, address: '', role: 'validator' })
const ledgers = ids.map(() => createMemoryLedger())
for (let i = 0; i < 4; i++) {
  const id = ids[i]!
  const stack: Stack = {
    ledger: ledgers[i]!,
    clock,
    log: silentLogger,
    sync: { peerHeights: () => new Map(), fetchBlocks: async () => [] },
    broadcast(msg: Envelope, target: BroadcastTarget = 'all') {
      if (target === 'non-validator') return 0
      for (let j = 0; j < 4; j++) if (j !== i) queue.push({ to: j, from: id, msg })
      return 3
    },
    unicast(msg: Envelope, peerId: string) {
      queue.push({ to: ids.indexOf(peerId), from: id, msg })
    },
    getNetworkInfo: (): NetworkInfo => ({ self: info(id), validators: ids.filter((x) => x !== id).map(info), peers: ids.filter((x) => x !== id).map(info) }),
    getNetworkHandles: (): PeerEndpoint[] => ids.filter((x) => x !== id).map((x) => ({ id: x, address: '', type: EndpointType.VALIDATOR })),
    sign: async () => new Uint8Array(0),
    verify: async () => true,
  }
  consenters.push(createPbftConsenter(stack, { validators: ids, batchSize, batchTimeoutMs: 2 }))
}
for (const c of consenters) c.start()
const filler = 'x'.repeat(200)
let seq = 0
let next = 0
function submit(n: number): void {
  for (let k = 0; k < n; k++) {
    const tx = { txid: `client-${(seq++).toString(36)}`, payload: filler, timestamp: Date.now(), origin: 'client' }
    const to = Math.floor(next++ / 16) % 4
    queue.push({ to, from: 'client', msg: makeEnvelope(MessageType.CHAIN_TRANSACTION, tx, tx.timestamp) })
  }
}
const committed = (): number => ledgers[3]!.height() - 1
function run(until: number, window: number): void {
  while (committed() < until) {
    const inFlight = seq - committed() * batchSize
    if (inFlight < window) submit(window - inFlight)
    // One "tick": deliver what is queued now.
    const now = queue.splice(0)
    for (const { to, from, msg } of now) consenters[to]!.recvMsg(msg, from === 'client' ? ids[to]! : from)
    if (queue.length === 0) clock.advance(1)
    else clock.advance(0)
  }
}
const window = batchSize === 1 ? 400 : 4000
run(Math.floor(total / 4 / batchSize), window)
const t0 = performance.now()
const c0 = committed()
run(c0 + Math.floor(total / batchSize), window)
const ms = performance.now() - t0
const blocks = committed() - c0
console.log(`batch ${batchSize}: ${blocks} blocks, ${((ms * 1000) / blocks).toFixed(1)} us per block for all 4 replicas, ${((ms * 1000) / (blocks * batchSize)).toFixed(2)} us per tx`)
