/**
 * A real wspeer peer in its own process, for the transport and flood cases. Its consenter
 * (`bench-counter`, registered here) counts CONSENSUS messages per sender and, every `ackEvery`
 * of them, unicasts a small ack back: the Peer API does not say when a link's send buffer is full
 * (see bench/README notes in the report), so senders pace themselves on those acks, a window of
 * `window` messages in flight per target. The ack path is wspeer's own (Outbox, handleChat, queue,
 * fan-in, consenter), so it costs what a real reply would.
 *
 * Commands (bench/processes.ts): listen, dial, connect, start, pace, flood, mark, measure, stop.
 */
import { registerConsenter } from '../src/core/consensus/registry.js'
import type { Consenter, Stack } from '../src/core/consensus/consenter.js'
import { createPeer } from '../src/core/peer/peer.js'
import { resolvePeerLimits, type PeerLimits } from '../src/core/peer/limits.js'
import type { ChatStream } from '../src/core/chat/chat-stream.js'
import type { Peer } from '../src/core/peer/peer-types.js'
import type { Envelope } from '../src/core/wire/envelope.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { createNodeConnector, resolveConfig, startNodePeer, type NodePeer } from '../src/node/index.js'
import { onCommand, reply, sleep, workerArgs } from './processes.js'

interface Args {
  id: string
  payloadBytes: number
  ackEvery: number
  window: number
  /** Consenter yields a macrotask per message (an asynchronous consenter), so queues can fill. */
  asyncConsenter: boolean
  limits: Partial<PeerLimits>
  /** Dial with a connector that keeps the streams, to read their bufferedAmount (flooder only). */
  keepStreams: boolean
  /** Default validator; the browser case's Node receiver is a non-validator, as a tab is. */
  role?: 'validator' | 'non-validator'
}

const args = workerArgs<Args>()
const ACK = 0xac
const DATA = 0x01

const perSender = new Map<string, number>()
const acked = new Map<string, number>()
const sent = new Map<string, number>()
let total = 0
let ackWaiter: (() => void) | undefined
let peakRss = process.memoryUsage().rss

function ackEnvelope(n: number): Envelope {
  const payload = new Uint8Array(9)
  payload[0] = ACK
  new DataView(payload.buffer).setFloat64(1, n)
  return { type: MessageType.CONSENSUS, payload }
}

function createCounter(stack: Stack): Consenter {
  return {
    name: 'bench-counter',
    start() {},
    stop() {},
    recvMsg(msg, sender) {
      const p = msg.payload
      if (p[0] === ACK && p.byteLength === 9) {
        acked.set(sender, new DataView(p.buffer, p.byteOffset, 9).getFloat64(1))
        const wake = ackWaiter
        ackWaiter = undefined
        wake?.()
        return
      }
      total++
      const n = (perSender.get(sender) ?? 0) + 1
      perSender.set(sender, n)
      if (n % args.ackEvery === 0) {
        try {
          stack.unicast(ackEnvelope(n), sender)
        } catch {
          // The sender is gone; its loop has ended.
        }
      }
      if (args.asyncConsenter) return new Promise<void>((resolve) => setImmediate(resolve))
    },
  }
}

registerConsenter('bench-counter', (stack) => createCounter(stack))

const limits = resolvePeerLimits(args.limits)
const streams: ChatStream[] = []
let node: NodePeer | undefined
let peer: Peer

async function start(): Promise<void> {
  if (args.keepStreams) {
    // The flooder: no server, and a connector that remembers its streams so it can read bufferedAmount.
    const base = createNodeConnector(limits)
    peer = createPeer({
      id: args.id,
      role: 'validator',
      consensus: 'bench-counter',
      limits,
      connect: async (address, options) => {
        const stream = await base(address, options)
        streams.push(stream)
        return stream
      },
    })
    await peer.start()
    reply({ reply: 'listening', url: '' })
    return
  }
  const config = resolveConfig({
    argv: ['--id', args.id, '--port', '0', '--role', args.role ?? 'validator', '--consensus', 'bench-counter', '--log-level', 'error'],
  })
  node = await startNodePeer({ ...config, limits })
  peer = node.peer
  reply({ reply: 'listening', url: node.address })
}

function connectedPeers(): string[] {
  return peer.status().peers.map((p) => p.id)
}

async function waitForPeers(n: number): Promise<void> {
  if (connectedPeers().length >= n) return
  await new Promise<void>((resolve) => {
    const off = peer.on('peer-connected', () => {
      if (connectedPeers().length >= n) {
        off()
        resolve()
      }
    })
  })
}

function dataEnvelope(payload: Uint8Array): Envelope {
  return { type: MessageType.CONSENSUS, timestamp: Date.now(), payload }
}

/** Closed loop: as fast as the ack window lets, to every target (broadcast when there are several). */
function runClosedLoop(targets: string[]): void {
  const payload = new Uint8Array(args.payloadBytes).fill(DATA)
  for (const t of targets) sent.set(t, 0)
  const chunk = 1024
  const blocked = (): boolean => targets.some((t) => sent.get(t)! - (acked.get(t) ?? 0) >= args.window)
  const pump = (): void => {
    for (let i = 0; i < chunk; i++) {
      if (blocked()) {
        ackWaiter = pump
        return
      }
      try {
        if (targets.length === 1) peer.unicast(dataEnvelope(payload), targets[0]!)
        else peer.broadcast(dataEnvelope(payload))
      } catch (err) {
        console.error(`[${args.id}] send failed, loop ends:`, (err as Error).message)
        return
      }
      for (const t of targets) sent.set(t, sent.get(t)! + 1)
    }
    setImmediate(pump)
  }
  pump()
}

/** Open loop at a fixed rate, in 10 ms ticks; no window (the rate is far below capacity). */
function runPaced(target: string, perSecond: number): void {
  const payload = new Uint8Array(args.payloadBytes).fill(DATA)
  const startedAt = performance.now()
  let done = 0
  setInterval(() => {
    const due = Math.floor(((performance.now() - startedAt) / 1000) * perSecond)
    for (; done < due; done++) {
      try {
        peer.unicast(dataEnvelope(payload), target)
      } catch {
        return
      }
    }
  }, 10)
}

/** As fast as the socket drains: keeps the dialed stream's bufferedAmount under half the send cap. */
async function flood(target: string, count: number, bytes: number): Promise<number> {
  const payload = new Uint8Array(bytes).fill(DATA)
  const stream = streams[0]!
  const high = limits.sendBufferCapBytes / 2
  const t0 = performance.now()
  let n = 0
  while (n < count) {
    if (stream.bufferedAmount >= high) {
      await sleep(1)
      continue
    }
    for (let i = 0; i < 16 && n < count; i++, n++) peer.unicast(dataEnvelope(payload), target)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  while (stream.bufferedAmount > 0 && !stream.closed) await sleep(1)
  return performance.now() - t0
}

// Sampled on a timer (from the first mark on: the transport cases do not pay for it) and on every
// mark; a stalled loop misses peaks in between, so the samples are a lower bound on the real peak.
let sampling = false
function startSampling(): void {
  if (sampling) return
  sampling = true
  setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }, 10).unref()
}

onCommand(async (m) => {
  switch (m.cmd) {
    case 'listen':
      await start()
      break
    case 'dial': {
      for (const url of m.urls as string[]) {
        peer.chatWithPeer(url).catch((err: unknown) => console.error(`[${args.id}] chat ended:`, (err as Error).message))
      }
      await waitForPeers(m.expect as number)
      reply({ reply: 'connected', peers: connectedPeers() })
      break
    }
    case 'connect':
      await waitForPeers(m.expect as number)
      reply({ reply: 'connected', peers: connectedPeers() })
      break
    case 'start':
      runClosedLoop((m.targets as string[] | undefined) ?? connectedPeers())
      reply({ reply: 'started' })
      break
    case 'pace':
      runPaced(m.target as string, m.perSecond as number)
      reply({ reply: 'started' })
      break
    case 'flood': {
      const ms = await flood(m.target as string, m.count as number, m.bytes as number)
      reply({ reply: 'flooded', ms, closed: streams[0]?.closed ?? true })
      break
    }
    case 'mark': {
      startSampling()
      const rss = process.memoryUsage().rss
      peakRss = Math.max(peakRss, rss)
      const metrics = peer.metrics()
      reply({
        reply: 'mark',
        t: performance.now(),
        total,
        perSender: Object.fromEntries(perSender),
        rss,
        peakRss,
        rejects: metrics.queueRejectsTotal,
        queues: metrics.queues,
        peers: connectedPeers(),
      })
      peakRss = rss
      break
    }
    case 'measure': {
      await sleep(m.warmupMs as number)
      const c0 = total
      const f0 = peer.metrics().framesReceived
      const t0 = performance.now()
      await sleep(m.durationMs as number)
      const frames = peer.metrics().framesReceived - f0
      reply({ reply: 'measured', count: total - c0, frames, ms: performance.now() - t0, rss: process.memoryUsage().rss })
      break
    }
    case 'stop':
      // Stopping a peer under a full send loop can take long; the CPU profile only needs an exit.
      await Promise.race([node?.stop() ?? (peer as Peer | undefined)?.stop(), sleep(500)])
      process.exit(0)
  }
})
reply({ reply: 'ready' })
