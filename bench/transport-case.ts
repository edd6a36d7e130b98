/**
 * Cases 1 and 2: wspeer's full receive path against the raw stack, in the same run. Each round
 * runs three variants in an order that changes from round to round (harness `interleave`), each
 * in fresh processes:
 *   - `unbatched`: plain ws + msgpackr, one envelope per WebSocket message;
 *   - `batched`: plain ws + msgpackr, 256 envelopes per message (what wspeer's Outbox sends);
 *   - `wspeer`: real peers, CONSENSUS messages through handleChat, the consensus handler, the
 *     bounded queue, the fan-in and a counting consenter.
 * A round's figure is messages delivered per second at the receivers (summed over receivers in
 * the mesh), over a window after a warm-up; ratios are taken within a round, then medianed.
 * With `consecutiveWindows` (--quick) each variant runs once, in one set of processes, and its
 * rounds are consecutive windows; round i's ratio pairs the variants' i-th windows.
 */
import { interleave, summarizeRounds, type BenchOptions, type MeasuredResult } from './harness.js'
import { spawnWorker, withWorkers, type Worker } from './processes.js'

/** Payload of every benchmark envelope, as the issue asks. */
export const PAYLOAD_BYTES = 250
/** Envelopes per message in the batched baseline: DEFAULT_MAX_ENVELOPES_PER_FRAME. */
export const BASELINE_BATCH = 256
/** Baseline senders stop writing while ws's bufferedAmount is at or above this. */
export const BASELINE_HIGH_WATER_BYTES = 1024 * 1024
/** wspeer receivers ack every this many messages per sender. */
export const ACK_EVERY = 512
/** wspeer senders keep at most this many unacked messages per target (about 2.3 MB). */
export const WINDOW = 8192
/** Queue limits of the receiving peers: generous, so the transport is what is measured, not rejects. */
export const GENEROUS_LIMITS = { queueMaxMessages: 1_000_000, queueMaxBytes: 1024 * 1024 * 1024 }

type Variant = 'unbatched' | 'batched' | 'wspeer'
const VARIANTS: Variant[] = ['unbatched', 'batched', 'wspeer']

async function runBaseline(processes: number, batch: number, options: BenchOptions, windows: number): Promise<number[]> {
  const mesh = processes > 2
  const workers = Array.from({ length: processes }, (_, i) =>
    spawnWorker('./baseline-worker.ts', `base${i}`, { batch, payloadBytes: PAYLOAD_BYTES, highWaterBytes: BASELINE_HIGH_WATER_BYTES }),
  )
  return withWorkers(workers, async () => {
    await Promise.all(workers.map((w) => w.wait('ready')))
    // Single: worker 0 receives, worker 1 sends. Mesh: every worker both.
    const receivers = mesh ? workers : [workers[0]!]
    const senders = mesh ? workers : [workers[1]!]
    const urls = new Map<Worker, string>()
    for (const r of receivers) urls.set(r, (await r.request({ cmd: 'listen' }, 'listening')).url as string)
    await Promise.all(senders.map((s) => s.request({ cmd: 'connect', urls: receivers.filter((r) => r !== s).map((r) => urls.get(r)!) }, 'connected')))
    await Promise.all(senders.map((s) => s.request({ cmd: 'start' }, 'started')))
    return measureWindows(receivers, options, windows)
  })
}

async function runWspeer(processes: number, options: BenchOptions, windows: number): Promise<number[]> {
  const mesh = processes > 2
  const workers = Array.from({ length: processes }, (_, i) =>
    spawnWorker('./peer-worker.ts', `vp${i}`, {
      id: `vp${i}`,
      payloadBytes: PAYLOAD_BYTES,
      ackEvery: ACK_EVERY,
      window: WINDOW,
      asyncConsenter: false,
      limits: GENEROUS_LIMITS,
      keepStreams: false,
    }),
  )
  return withWorkers(workers, async () => {
    await Promise.all(workers.map((w) => w.wait('ready')))
    const urls = await Promise.all(workers.map(async (w) => (await w.request({ cmd: 'listen' }, 'listening')).url as string))
    const expect = processes - 1
    // Each pair linked once, dialed by the smaller ID (the link the registry's tie-break keeps).
    await Promise.all(workers.map((w, i) => w.request({ cmd: 'dial', urls: urls.slice(i + 1), expect }, 'connected')))
    const receivers = mesh ? workers : [workers[0]!]
    const senders = mesh ? workers : [workers[1]!]
    await Promise.all(senders.map((s) => s.request({ cmd: 'start' }, 'started')))
    return measureWindows(receivers, options, windows)
  })
}

/** Envelopes per received frame in the last wspeer measurement (how well the Outbox coalesced). */
let lastEnvelopesPerFrame = 0

/** Delivered msgs/s over `windows` back-to-back windows, the warm-up before the first only. */
async function measureWindows(receivers: Worker[], options: BenchOptions, windows: number): Promise<number[]> {
  const rates: number[] = []
  for (let i = 0; i < windows; i++) rates.push(await measure(receivers, i === 0 ? options.warmupMs : 0, options.durationMs))
  return rates
}

async function measure(receivers: Worker[], warmupMs: number, durationMs: number): Promise<number> {
  const answers = await Promise.all(
    receivers.map((r) => r.request({ cmd: 'measure', warmupMs, durationMs }, 'measured', warmupMs + durationMs + 30_000)),
  )
  const frames = answers.reduce((sum, a) => sum + ((a.frames as number | undefined) ?? 0), 0)
  const count = answers.reduce((sum, a) => sum + (a.count as number), 0)
  if (frames > 0) lastEnvelopesPerFrame = count / frames
  return answers.reduce((sum, a) => sum + ((a.count as number) / (a.ms as number)) * 1000, 0)
}

function runVariant(variant: Variant, processes: number, options: BenchOptions, windows: number): Promise<number[]> {
  if (variant === 'wspeer') return runWspeer(processes, options, windows)
  return runBaseline(processes, variant === 'batched' ? BASELINE_BATCH : 1, options, windows)
}

/** Per round, each variant's msgs/s and wspeer's envelopes per frame in that round. */
type RoundRates = Record<Variant, number> & { envelopesPerFrame: number }

async function collectRounds(processes: number, options: BenchOptions): Promise<RoundRates[]> {
  const out: RoundRates[] = []
  if (options.consecutiveWindows === true) {
    // One set of processes per variant, its windows back to back; the frames figure is wspeer's last window's.
    const rates = {} as Record<Variant, number[]>
    for (const variant of VARIANTS) rates[variant] = await runVariant(variant, processes, options, options.rounds)
    const perFrame = lastEnvelopesPerFrame
    for (let r = 0; r < options.rounds; r++) out.push({ unbatched: rates.unbatched[r]!, batched: rates.batched[r]!, wspeer: rates.wspeer[r]!, envelopesPerFrame: perFrame })
    return out
  }
  for (let r = 0; r < options.rounds; r++) {
    const rates: Partial<Record<Variant, number>> = {}
    for (const variant of interleave(VARIANTS, r)) rates[variant] = (await runVariant(variant, processes, options, 1))[0]!
    out.push({ ...(rates as Record<Variant, number>), envelopesPerFrame: lastEnvelopesPerFrame })
  }
  return out
}

export async function runTransport(processes: number, ratioTarget: number, options: BenchOptions): Promise<MeasuredResult> {
  const rounds: Record<string, number>[] = []
  for (const [r, { unbatched, batched, wspeer, envelopesPerFrame }] of (await collectRounds(processes, options)).entries()) {
    process.stderr.write(`  round ${r + 1}: unbatched ${Math.round(unbatched)}, batched ${Math.round(batched)}, wspeer ${Math.round(wspeer)} msgs/s\n`)
    rounds.push({
      ratio: wspeer / batched,
      vs_unbatched: wspeer / unbatched,
      msgs_per_s: wspeer,
      baseline_msgs_per_s: unbatched,
      batched_baseline_msgs_per_s: batched,
      envelopes_per_frame: envelopesPerFrame,
    })
  }
  return {
    status: 'measured',
    figures: summarizeRounds(rounds),
    targets: {
      ratio: { op: '>=', bound: ratioTarget },
      vs_unbatched: { op: '>=', bound: 2.5 },
    },
    notes: {
      processes,
      topology: processes > 2 ? 'all-to-all broadcast, every process sends and receives' : 'one sender process, one receiver process',
      ratio: `wspeer / batched baseline (ws + msgpackr, ${BASELINE_BATCH} envelopes per message), per round`,
      vs_unbatched: 'wspeer / unbatched baseline (ws + msgpackr, one envelope per message), per round',
      payload_bytes: PAYLOAD_BYTES,
      wspeer_pacing: `ack from the receiver's consenter every ${ACK_EVERY} messages, window ${WINDOW} per target (the Peer API exposes no per-link bufferedAmount)`,
      baseline_pacing: `bufferedAmount < ${BASELINE_HIGH_WATER_BYTES} bytes, polled every 1 ms when above`,
      window_ms: options.durationMs,
      warmup_ms: options.warmupMs,
      rounds:
        options.consecutiveWindows === true
          ? 'consecutive windows of one set of processes per variant, variants one after another (--quick)'
          : 'fresh processes per variant and round, variants interleaved',
    },
  }
}
