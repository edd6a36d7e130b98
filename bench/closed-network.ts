/**
 * A closed PBFT network of bench worker processes (bench/pbft-worker.ts), as `wspeer network`
 * makes one: keys for vp0..vp(N-1) and a membership file (src/node/network.ts), ledgers in memory,
 * plus the load client and any number of followers. Validators sign blocks for followers and
 * followers verify them (PROTOCOL.md 11.6), so the cases that use it pay what a user's network pays.
 * The `followers` and `validators` cases share it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { prepareNetworkIdentity } from '../src/node/network.js'
import { PBFT_BENCH_LIMITS } from './pbft-case.js'
import { spawnWorker, withWorkers, type Worker } from './processes.js'
import { PAYLOAD_BYTES } from './transport-case.js'

export interface ClosedNetwork {
  ids: string[]
  /** The validators' chat URLs, in `ids` order. */
  urls: string[]
  validators: Worker[]
  client: Worker
  followers: Worker[]
  all: Worker[]
}

export const validatorIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `vp${i}`)

/**
 * Runs `body` with `n` validators, the client and `followers` followers spawned, the validators all
 * linked, the client linked to each, and every follower linked to vp0 (it finds the rest by
 * discovery, as `wspeer start --role non-validator --peers <vp0>` does). Cleans up after.
 */
export async function withClosedNetwork<T>(
  n: number,
  followers: number,
  consensusOptions: Record<string, unknown>,
  body: (net: ClosedNetwork) => Promise<T>,
): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), 'wspeer-bench-closed-'))
  try {
    const { membership, dataDirs } = await prepareNetworkIdentity(root, n)
    const ids = validatorIds(n)
    const common = { consensusOptions: { validators: ids, ...consensusOptions }, limits: PBFT_BENCH_LIMITS, payloadBytes: PAYLOAD_BYTES, membership }
    const validators = ids.map((id, i) => spawnWorker('./pbft-worker.ts', id, { id, role: 'validator', keyDir: dataDirs[i], ...common }))
    const client = spawnWorker('./pbft-worker.ts', 'client', { id: 'client', role: 'non-validator', keyDir: join(root, 'client'), ...common })
    const followerWorkers = Array.from({ length: followers }, (_, i) =>
      spawnWorker('./pbft-worker.ts', `nvp${i}`, { id: `nvp${i}`, role: 'non-validator', follower: true, keyDir: join(root, `nvp${i}`), ...common }),
    )
    const all = [...validators, client, ...followerWorkers]
    return await withWorkers(all, async () => {
      await Promise.all(all.map((w) => w.wait('ready')))
      const urls = await Promise.all(validators.map(async (w) => (await w.request({ cmd: 'listen' }, 'listening')).url as string))
      await Promise.all([client, ...followerWorkers].map((w) => w.request({ cmd: 'listen' }, 'listening')))
      // Each validator dials the ones before it (as the PBFT cases do); many links take a while.
      const linkTimeout = 60_000 + n * 2000
      await Promise.all(validators.map((w, i) => w.request({ cmd: 'dial', urls: urls.slice(0, i), expect: n - 1 }, 'connected', linkTimeout)))
      await client.request({ cmd: 'dial', urls, expect: n }, 'connected', linkTimeout)
      await Promise.all(followerWorkers.map((w) => w.request({ cmd: 'dial', urls: [urls[0]!], expect: 1 }, 'connected', linkTimeout)))
      return body({ ids, urls, validators, client, followers: followerWorkers, all })
    })
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
