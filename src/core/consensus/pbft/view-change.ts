/**
 * The new-view computation of Castro and Liskov (OSDI '99, section 4.4), as pure functions: the
 * new primary runs them over the 2f+1 view-change messages it chose, and every backup re-runs them
 * over the same replicas' view-change messages (received from those replicas directly) and refuses
 * a new-view whose result differs. No signatures are needed for that: a backup only uses
 * view-change messages it authenticated itself, and waits for any it lacks.
 *
 * In: view-change messages (sender's low watermark h, checkpoint set C, prepared set P,
 * pre-prepared set Q). Out: the starting checkpoint and, for each later sequence number, the digest
 * to re-propose ('' for a null request), or undefined while the messages do not decide it yet.
 *
 *   const cp = selectCheckpoint(vcs, f)
 *   const x = cp && assignSequenceNumbers(vcs, cp[0], f, L)
 */
import type { SeqDigest, ViewChangeMsg } from './messages.js'
import { NULL_DIGEST } from './batch.js'

/**
 * The highest checkpoint that f+1 view changes vouch for (one of them is honest, so the state is
 * real) and that 2f+1 view changes are not past (their low watermark is at or below it).
 * Ties on n (only possible with more than f liars) go to the smaller digest, deterministically.
 */
export function selectCheckpoint(vcs: readonly ViewChangeMsg[], f: number): SeqDigest | undefined {
  const vouchers = new Map<string, { n: number; d: string; count: number }>()
  for (const vc of vcs) {
    const seen = new Set<string>()
    for (const [n, d] of vc.C) {
      const key = `${n}:${d}`
      if (seen.has(key)) continue
      seen.add(key)
      const entry = vouchers.get(key)
      if (entry === undefined) vouchers.set(key, { n, d, count: 1 })
      else entry.count++
    }
  }
  let best: SeqDigest | undefined
  for (const { n, d, count } of vouchers.values()) {
    if (count < f + 1) continue
    let notPast = 0
    for (const vc of vcs) if (vc.h <= n) notPast++
    if (notPast < 2 * f + 1) continue
    if (best === undefined || n > best[0] || (n === best[0] && d < best[1])) best = [n, d]
  }
  return best
}

/**
 * For each n in (h, highest prepared n], the digest to re-propose: one prepared in some view v that
 * 2f+1 messages do not contradict (no prepared certificate for n in a later view, nor one with a
 * different digest in v) and that f+1 messages saw pre-prepared in v or later; or a null request
 * when 2f+1 messages prepared nothing at n. Undefined when some n is decided by neither rule.
 */
export function assignSequenceNumbers(vcs: readonly ViewChangeMsg[], h: number, f: number, logSize: number): SeqDigest[] | undefined {
  const prepared = vcs.map((vc) => {
    const byN = new Map<number, { d: string; v: number }>()
    for (const [n, d, v] of vc.P) {
      const old = byN.get(n)
      if (old === undefined || v > old.v) byN.set(n, { d, v })
    }
    return byN
  })
  const preprepared = vcs.map((vc) => {
    const byKey = new Map<string, number>()
    for (const [n, d, v] of vc.Q) byKey.set(`${n}:${d}`, Math.max(v, byKey.get(`${n}:${d}`) ?? -1))
    return byKey
  })
  let maxN = h
  for (const vc of vcs) for (const [n] of vc.P) if (n > maxN && n <= h + logSize) maxN = n
  const out: SeqDigest[] = []
  for (let n = h + 1; n <= maxN; n++) {
    let chosen: string | undefined
    const candidates = new Map<string, { d: string; v: number }>()
    for (const byN of prepared) {
      const m = byN.get(n)
      if (m !== undefined) candidates.set(`${m.d}:${m.v}`, m)
    }
    for (const m of candidates.values()) {
      let a1 = 0
      for (let i = 0; i < vcs.length; i++) {
        if ((vcs[i] as ViewChangeMsg).h >= n) continue
        const other = (prepared[i] as Map<number, { d: string; v: number }>).get(n)
        if (other === undefined || other.v < m.v || (other.v === m.v && other.d === m.d)) a1++
      }
      if (a1 < 2 * f + 1) continue
      let a2 = 0
      for (const byKey of preprepared) if ((byKey.get(`${n}:${m.d}`) ?? -1) >= m.v) a2++
      if (a2 < f + 1) continue
      if (chosen === undefined || m.d < chosen) chosen = m.d
    }
    if (chosen === undefined) {
      let empty = 0
      for (let i = 0; i < vcs.length; i++) {
        if ((vcs[i] as ViewChangeMsg).h < n && !(prepared[i] as Map<number, unknown>).has(n)) empty++
      }
      if (empty < 2 * f + 1) return undefined
      chosen = NULL_DIGEST
    }
    out.push([n, chosen])
  }
  return out
}

/** Prepared certificates of past views, by n: the latest (digest, view) (a view change's P). */
export type PreparedSet = Map<number, { d: string; v: number }>
/** Pre-prepared (n, d) of past views, by "n:d", with the highest view (a view change's Q). */
export type PrePreparedSet = Map<string, { n: number; d: string; v: number }>

/** Records that (n, d) prepared in view v: P keeps the latest view per n (a later one replaces it). */
export function addPrepared(pset: PreparedSet, n: number, d: string, v: number): void {
  const old = pset.get(n)
  if (old === undefined || old.v <= v) pset.set(n, { d, v })
}

/** Records that (n, d) was pre-prepared in view v: Q keeps the highest view per (n, d). */
export function addPrePrepared(qset: PrePreparedSet, n: number, d: string, v: number): void {
  const key = `${n}:${d}`
  const old = qset.get(key)
  if (old === undefined || old.v < v) qset.set(key, { n, d, v })
}
