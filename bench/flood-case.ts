/**
 * Case 4, flood: peer `vp2` sends 10x the receiver's queue byte bound, as fast as its socket
 * drains, to `vp0`, while an honest peer `vp1` sends at a steady rate. `vp0` runs the default
 * queue limits and an asynchronous consenter (one macrotask per message), so its queues can
 * actually fill; a synchronous consenter drains them within the same task as the read.
 * Reported per round (fresh processes each): the receiver's RSS growth (peak during the flood
 * minus RSS just before), queue-full rejects, and the honest peer's delivered rate during the
 * flood over its rate just before it.
 */
import { DEFAULT_QUEUE_MAX_BYTES, DEFAULT_QUEUE_MAX_MESSAGES } from '../src/core/peer/limits.js'
import { interleave, summarizeRounds, type BenchOptions, type MeasuredResult } from './harness.js'
import { sleep, spawnWorker, withWorkers, type Message } from './processes.js'
import { ACK_EVERY } from './transport-case.js'

/** Payload of one flood message: big enough that the queue's byte bound, not its count, binds. */
export const FLOOD_MESSAGE_BYTES = 64 * 1024
/** The flood is this many times the queue byte bound. */
export const FLOOD_FACTOR = 10
/** The honest peer's steady rate, messages/s of 250 bytes. */
export const HONEST_RATE = 5000
/** Settling time after the flooder's last byte, included in the RSS peak. */
export const SETTLE_MS = 300

const MB = 1024 * 1024

function honestRate(a: Message, b: Message): number {
  const from = (m: Message): number => (m.perSender as Record<string, number>).vp1 ?? 0
  return ((from(b) - from(a)) / ((b.t as number) - (a.t as number))) * 1000
}

async function floodRound(options: BenchOptions, asyncConsenter: boolean): Promise<Record<string, number>> {
  const common = { payloadBytes: 250, ackEvery: ACK_EVERY, window: Number.MAX_SAFE_INTEGER, limits: {} }
  const receiver = spawnWorker('./peer-worker.ts', 'vp0', { ...common, id: 'vp0', asyncConsenter, keepStreams: false })
  const honest = spawnWorker('./peer-worker.ts', 'vp1', { ...common, id: 'vp1', asyncConsenter: false, keepStreams: false })
  const flooder = spawnWorker('./peer-worker.ts', 'vp2', { ...common, id: 'vp2', asyncConsenter: false, keepStreams: true })
  return withWorkers([receiver, honest, flooder], async () => {
    await Promise.all([receiver, honest, flooder].map((w) => w.wait('ready')))
    const url = (await receiver.request({ cmd: 'listen' }, 'listening')).url as string
    await honest.request({ cmd: 'listen' }, 'listening')
    await flooder.request({ cmd: 'listen' }, 'listening')
    await Promise.all([
      honest.request({ cmd: 'dial', urls: [url], expect: 1 }, 'connected'),
      flooder.request({ cmd: 'dial', urls: [url], expect: 1 }, 'connected'),
      receiver.request({ cmd: 'connect', expect: 2 }, 'connected'),
    ])
    await honest.request({ cmd: 'pace', target: 'vp0', perSecond: HONEST_RATE }, 'started')
    await sleep(options.warmupMs)
    const before0 = await receiver.request({ cmd: 'mark' }, 'mark')
    await sleep(options.durationMs)
    const before1 = await receiver.request({ cmd: 'mark' }, 'mark')
    const count = Math.ceil((FLOOD_FACTOR * DEFAULT_QUEUE_MAX_BYTES) / FLOOD_MESSAGE_BYTES)
    const flooded = await flooder.request({ cmd: 'flood', target: 'vp0', count, bytes: FLOOD_MESSAGE_BYTES }, 'flooded', 120_000)
    const during = await receiver.request({ cmd: 'mark' }, 'mark')
    await sleep(SETTLE_MS)
    const after = await receiver.request({ cmd: 'mark' }, 'mark')
    const peak = Math.max(during.peakRss as number, after.peakRss as number)
    const normal = honestRate(before0, before1)
    const queues = after.queues as { peer: string; rejects: number }[]
    const honestRejects = queues.find((q) => q.peer === 'vp1')?.rejects ?? 0
    process.stderr.write(
      `  flood (${asyncConsenter ? 'async' : 'sync'} consenter): ${count} x ${FLOOD_MESSAGE_BYTES} B in ${Math.round(flooded.ms as number)} ms, rss +${((peak - (before1.rss as number)) / MB).toFixed(1)} MB, rejects ${after.rejects as number}, honest ${Math.round(honestRate(before1, during))}/${Math.round(normal)} msgs/s, flooder link ${(after.peers as string[]).includes('vp2') ? 'up' : 'closed'}\n`,
    )
    return {
      rss_growth_mb: (peak - (before1.rss as number)) / MB,
      rejects: after.rejects as number,
      honest_rejects: honestRejects,
      honest_ratio: honestRate(before1, during) / normal,
      honest_msgs_per_s_before: normal,
      honest_msgs_per_s_during: honestRate(before1, during),
      flood_ms: flooded.ms as number,
      flood_mb_per_s: (count * FLOOD_MESSAGE_BYTES) / MB / ((flooded.ms as number) / 1000),
    }
  })
}

export async function runFlood(options: BenchOptions): Promise<MeasuredResult> {
  const rounds: Record<string, number>[] = []
  for (let r = 0; r < options.rounds; r++) {
    // The synchronous-consenter variant, interleaved: the same flood when the consenter keeps up.
    const round: Record<string, number> = {}
    for (const asyncConsenter of interleave([true, false], r)) {
      const figures = await floodRound(options, asyncConsenter)
      for (const [k, v] of Object.entries(figures)) round[asyncConsenter ? k : `sync_${k}`] = v
    }
    rounds.push(round)
  }
  return {
    status: 'measured',
    figures: summarizeRounds(rounds),
    targets: {
      rss_growth_mb: { op: '<=', bound: DEFAULT_QUEUE_MAX_BYTES / MB + 50, label: `<= ${DEFAULT_QUEUE_MAX_BYTES / MB} + 50` },
      honest_ratio: { op: '>=', bound: 0.8 },
    },
    notes: {
      flood: `${FLOOD_FACTOR} x the queue byte bound (${DEFAULT_QUEUE_MAX_BYTES} B) in ${FLOOD_MESSAGE_BYTES}-byte CONSENSUS messages, sender keeps its bufferedAmount under half its send cap`,
      queue_bound: `${DEFAULT_QUEUE_MAX_MESSAGES} messages, ${DEFAULT_QUEUE_MAX_BYTES} bytes (defaults)`,
      honest: `one peer at ${HONEST_RATE} msgs/s of 250 B, open loop; ratio = delivered rate during the flood / the ${options.durationMs} ms before it`,
      consenter: 'asynchronous: one macrotask per message, so the queues fill; sync_* figures: the same flood with a synchronous counting consenter',
      rss: 'sampled every 10 ms and at each mark; peak during the flood and 300 ms after, minus RSS before',
    },
  }
}
