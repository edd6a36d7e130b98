/**
 * What the bench's page modules (tab-counter.ts, tab-follower.ts) share: a timer sleep and waiting
 * until the tab peer is linked as the driver needs. Bundled into each page by Vite, so nothing
 * here may import Node.
 */
import type { Peer } from '../src/browser/index.js'

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves once `linked(ids)` holds for the IDs of the peers `peer` is linked to; returns those IDs. */
export async function waitForLinks(peer: Peer, linked: (ids: readonly string[]) => boolean): Promise<string[]> {
  const ids = (): string[] => peer.status().peers.map((p) => p.id)
  while (!linked(ids())) {
    await new Promise<void>((resolve) => {
      const off = peer.on('peer-connected', () => {
        off()
        resolve()
      })
    })
  }
  return ids()
}
