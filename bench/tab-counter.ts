/**
 * The page module of the browser case (bench/browser-case.ts bundles it with Vite and serves it):
 * a tab peer from wspeer's browser entry whose consenter (`bench-counter`) counts CONSENSUS
 * messages and acks every `ackEvery` of them to the sender, exactly as bench/peer-worker.ts does
 * in Node, so the Node sender paces both receivers alike. The driver calls it through
 * `window.benchTab`: start(url, ...) -> the peer ID once linked, measure(warmup, duration) ->
 * { count, ms }, stop().
 */
import { MessageType, registerConsenter, startTabPeer, type Consenter, type Envelope, type PeerLimits, type Stack, type TabPeer } from '../src/browser/index.js'
import { sleep, waitForLinks } from './tab-page.js'

const ACK = 0xac

let total = 0
let ackEvery = 512
let tab: TabPeer | undefined

function ackEnvelope(n: number): Envelope {
  const payload = new Uint8Array(9)
  payload[0] = ACK
  new DataView(payload.buffer).setFloat64(1, n)
  return { type: MessageType.CONSENSUS, payload }
}

function createCounter(stack: Stack): Consenter {
  const perSender = new Map<string, number>()
  return {
    name: 'bench-counter',
    start() {},
    stop() {},
    recvMsg(_msg, sender) {
      total++
      const n = (perSender.get(sender) ?? 0) + 1
      perSender.set(sender, n)
      if (n % ackEvery === 0) {
        try {
          stack.unicast(ackEnvelope(n), sender)
        } catch {
          // The sender is gone; the round is over.
        }
      }
    },
  }
}

registerConsenter('bench-counter', (stack) => createCounter(stack))

export interface BenchTab {
  start(url: string, options: { id: string; ackEvery: number; limits: Partial<PeerLimits> }): Promise<string[]>
  measure(warmupMs: number, durationMs: number): Promise<{ count: number; ms: number }>
  stop(): Promise<void>
}

const benchTab: BenchTab = {
  async start(url, options) {
    ackEvery = options.ackEvery
    // A validator (the sender runs in open mode): its acks are CONSENSUS, which peers take from validators only.
    tab = await startTabPeer({ connect: url, id: options.id, role: 'validator', consensus: 'bench-counter', limits: options.limits, logLevel: 'error' })
    return waitForLinks(tab.peer, (ids) => ids.length > 0)
  },
  async measure(warmupMs, durationMs) {
    await sleep(warmupMs)
    const c0 = total
    const t0 = performance.now()
    await sleep(durationMs)
    return { count: total - c0, ms: performance.now() - t0 }
  },
  async stop() {
    await tab?.stop()
  },
}

;(globalThis as unknown as { benchTab: BenchTab }).benchTab = benchTab
