/**
 * The nemesis's fault plan: which faults, on whom, when, and for how long, drawn from a seeded
 * random source before the run starts, so the plan depends on the seed alone (never on timing).
 *
 * Kinds:
 * - `kill`: kill -9 of one validator, restarted after `downMs` with its key and the ledger it had
 *   written (LevelDB under its data dir); it catches up from the others.
 * - `kill-all` (only when asked for, `kinds`): kill -9 of every validator at once, all restarted
 *   after `downMs` from what each had written. Not in the default plan: without PBFT's own log
 *   persisted, validators that come back with different stored tails can order a sequence number
 *   again and fork (README "Durability", a known open gap of issue 15).
 * - `pause`: SIGSTOP of one validator, SIGCONT after `downMs`.
 * - `pause-quorum`: SIGSTOP of f+1 validators at once (no quorum: commits stop), SIGCONT after
 *   `downMs` (1-2 s).
 *
 *   const plan = planFaults({ seed: 7, validators: 4, durationMs: 60_000 })
 */
import { pick, seededRandom } from './prng.js'

export type FaultKind = 'kill' | 'kill-all' | 'pause' | 'pause-quorum'

export interface PlannedFault {
  kind: FaultKind
  /** Validator indexes hit (one, f+1 for pause-quorum, all for kill-all). */
  targets: number[]
  /** When the fault starts, in ms after the load started. */
  atMs: number
  /** How long the targets stay down before the heal. */
  downMs: number
}

/** Load before the first fault, so the network is committing when it is hit (3 s). */
export const NEMESIS_WARMUP_MS = 3000
/** Quiet time after each heal before the next fault may start: min and max (4-7 s). */
export const NEMESIS_GAP_MS: readonly [number, number] = [4000, 7000]
/** How long a killed validator stays down (1-4 s). */
export const NEMESIS_KILL_DOWN_MS: readonly [number, number] = [1000, 4000]
/** How long one paused validator stays stopped (2-6 s). */
export const NEMESIS_PAUSE_DOWN_MS: readonly [number, number] = [2000, 6000]
/** How long f+1 paused validators stay stopped (1-2 s): briefly, as the issue asks. */
export const NEMESIS_QUORUM_PAUSE_MS: readonly [number, number] = [1000, 2000]

/** The kinds planned by default: every fault wspeer is meant to survive today. */
export const DEFAULT_FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'pause-quorum']
/** Every kind the nemesis knows. */
export const ALL_FAULT_KINDS: readonly FaultKind[] = ['kill', 'kill-all', 'pause', 'pause-quorum']

export interface FaultPlanOptions {
  seed: number
  validators: number
  /** Which kinds to plan (default DEFAULT_FAULT_KINDS). */
  kinds?: readonly FaultKind[]
  /** Faults start and heal within this time after the load started. */
  durationMs: number
}

export function planFaults(options: FaultPlanOptions): PlannedFault[] {
  const random = seededRandom(options.seed)
  const n = options.validators
  const f = Math.floor((n - 1) / 3)
  const kinds: FaultKind[] = [...(options.kinds ?? DEFAULT_FAULT_KINDS)]
  const faults: PlannedFault[] = []
  let at = NEMESIS_WARMUP_MS
  // Every kind at least once when there is time, in an order the seed picks; then at random.
  const firsts = shuffle(random, kinds)
  for (;;) {
    const kind = firsts.shift() ?? kinds[pick(random, 0, kinds.length - 1)]!
    const range = kind === 'kill' || kind === 'kill-all' ? NEMESIS_KILL_DOWN_MS : kind === 'pause' ? NEMESIS_PAUSE_DOWN_MS : NEMESIS_QUORUM_PAUSE_MS
    const downMs = pick(random, range[0], range[1])
    if (at + downMs > options.durationMs) break
    const targets =
      kind === 'pause-quorum' ? choose(random, n, f + 1) : kind === 'kill-all' ? Array.from({ length: n }, (_, i) => i) : [pick(random, 0, n - 1)]
    faults.push({ kind, targets, atMs: at, downMs })
    at += downMs + pick(random, NEMESIS_GAP_MS[0], NEMESIS_GAP_MS[1])
  }
  return faults
}

/** `count` distinct indexes out of 0..n-1, sorted. */
function choose(random: () => number, n: number, count: number): number[] {
  return shuffle(random, Array.from({ length: n }, (_, i) => i))
    .slice(0, count)
    .sort((a, b) => a - b)
}

/** A copy in an order the random source picks (Fisher-Yates). */
function shuffle<T>(random: () => number, items: readonly T[]): T[] {
  const all = [...items]
  for (let i = all.length - 1; i > 0; i--) {
    const j = pick(random, 0, i)
    ;[all[i], all[j]] = [all[j]!, all[i]!]
  }
  return all
}
