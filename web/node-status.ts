/**
 * What the dashboard learns from Node peers over HTTP: each one's GET /status (derived from its
 * chat URL) and the serving peer's GET /metrics (fan throughput). Chat URLs enter; the latest
 * status per peer, or why there is none, leaves.
 *
 * Node peers answer the page's own origin; another origin's /status is readable only if that
 * peer sends CORS headers. A cross-origin fetch that fails is retried only every
 * CROSS_ORIGIN_RETRY_MS so a browser without access does not hammer it.
 */
import type { PeerStatus } from '../src/browser/index.js'
import { httpBaseOf } from '../src/browser/http-base.js'

export { httpBaseOf }

/** Time one /status fetch may take (2 s). */
export const STATUS_FETCH_TIMEOUT_MS = 2000
/** A cross-origin /status that failed is tried again after this long (10 s). */
export const CROSS_ORIGIN_RETRY_MS = 10_000

export type NodeView =
  | { kind: 'ok'; status: PeerStatus; at: number }
  | { kind: 'unreachable'; error: string; at: number; crossOrigin: boolean }

export function createNodeWatcher(pageOrigin: string) {
  const views = new Map<string, NodeView>()
  const inFlight = new Set<string>()

  async function fetchOne(base: string): Promise<void> {
    const crossOrigin = base !== pageOrigin
    const last = views.get(base)
    if (inFlight.has(base)) return
    if (crossOrigin && last?.kind === 'unreachable' && Date.now() - last.at < CROSS_ORIGIN_RETRY_MS) return
    inFlight.add(base)
    try {
      const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(STATUS_FETCH_TIMEOUT_MS), cache: 'no-store' })
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      views.set(base, { kind: 'ok', status: (await res.json()) as PeerStatus, at: Date.now() })
    } catch (err) {
      const error = crossOrigin ? 'no CORS access (or down)' : err instanceof Error ? err.message : String(err)
      views.set(base, { kind: 'unreachable', error, at: Date.now(), crossOrigin })
    } finally {
      inFlight.delete(base)
    }
  }

  return {
    views,
    /** Refreshes every base given; resolves when all fetches settle. */
    refresh: (bases: Iterable<string>) => Promise.allSettled([...new Set(bases)].map(fetchOne)),
  }
}

/** The serving peer's total fan-in count from /metrics, or undefined when unavailable. */
export async function fetchOriginFanProcessed(): Promise<number | undefined> {
  try {
    const res = await fetch('/metrics', { signal: AbortSignal.timeout(STATUS_FETCH_TIMEOUT_MS), cache: 'no-store' })
    if (!res.ok) return undefined
    const match = /^wspeer_fan_processed_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(await res.text())
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}
