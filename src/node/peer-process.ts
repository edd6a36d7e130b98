/**
 * The Node flags a peer process runs with: `wspeer network` starts each child with them, and the
 * bench starts its peer processes with them too, so the figures are those of the peers users run.
 *
 * Why a larger initial old generation. V8 sizes a fresh process's old generation to its live data,
 * about 13 MB for a validator here (blocks and the txid set live in typed arrays, off the heap),
 * and runs a full mark-compact each time promoted objects fill the small gap above it. What a peer
 * holds across a few young-generation collections is promoted (a replica's log until the next
 * stable checkpoint, requests in flight), so at 20,000 tx/s each process of the bench ran a
 * mark-compact about every 250 ms,
 * each pausing it 2-10 ms, and the commit latency's p99 followed those pauses. Starting the old
 * generation at 64 MiB spaces them 1.5-2 s apart. Measured on the 2-core bench machine, three
 * pairs of runs interleaved (bench/dev-pbft.ts, three 2 s windows after 3 s of warm-up; V8's own
 * sizing against 64 MiB):
 *   - latency20k p99 10.5-12.7 against 8.1-8.2 ms; CPU per transaction -9% (validators) and -13%
 *     (client);
 *   - batch 100: 72.6-80.6k against 77.7-83.4k tx/s; batch 1 within noise to a few percent better.
 * 128 MiB measured like 64; 32 MiB like V8's own sizing.
 * The price is memory: a peer's heap may grow to about the initial size before its first full
 * collection; the ledger's own bytes are outside it either way.
 *
 *   spawn(process.execPath, [...peerNodeArgs(), 'bin/wspeer.js', 'start', ...])
 */

/** Initial old-generation size of a peer process, in MiB (default 64); 0 leaves V8's own sizing. */
export const DEFAULT_INITIAL_OLD_SPACE_MB = 64
/** Largest initial old generation accepted, in MiB (4096: V8's usual heap ceiling on 64-bit). */
export const MAX_INITIAL_OLD_SPACE_MB = 4096

/** Node flags for a peer process whose old generation starts at `initialOldSpaceMb` MiB. */
export function peerNodeArgs(initialOldSpaceMb: number = DEFAULT_INITIAL_OLD_SPACE_MB): string[] {
  if (!Number.isSafeInteger(initialOldSpaceMb) || initialOldSpaceMb < 0 || initialOldSpaceMb > MAX_INITIAL_OLD_SPACE_MB) {
    throw new RangeError(`initial old space must be an integer from 0 to ${MAX_INITIAL_OLD_SPACE_MB} MiB, got ${initialOldSpaceMb}`)
  }
  return initialOldSpaceMb === 0 ? [] : [`--initial-old-space-size=${initialOldSpaceMb}`]
}
