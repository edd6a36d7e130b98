/**
 * The Node flags a peer process runs with: `wspeer network` starts each child with them, and the
 * bench starts its peer processes with them too, so the figures are those of the peers users run.
 *
 * Why a larger initial old generation. V8 sizes a fresh process's old generation to its live data,
 * about 13 MB for a validator here (blocks and the txid set live in typed arrays, off the heap),
 * and runs a full mark-compact each time promoted objects fill the small gap above it. What a peer
 * holds across a few young-generation collections is promoted (a replica's log until the next
 * stable checkpoint, requests in flight), so at 20,000 tx/s each process of the bench ran a
 * mark-compact about every 250 ms, each pausing it 2-10 ms, and the commit latency's p99 followed
 * those pauses. Starting the old
 * generation at 40 MiB spaces them out; a larger one spaces them more, but costs memory that a
 * flood shows. Measured on the 2-core bench machine, runs interleaved (bench/dev-pbft.ts, three
 * 2 s windows after 3 s of warm-up; `npm run bench -- --only flood` for the flood):
 *
 *   initial old generation      V8's own    40 MiB      48 MiB      64 MiB
 *   latency20k p99 (ms)         12.2-13.3   8.3-11.6    10.0-11.3   8.1-8.2
 *   flood RSS growth (MB)       52.4        56.3        61.0        71.1
 *
 * The flood's growth has a target, the queue's 16 MiB + 50 MB: during a flood of 64 KiB messages
 * the garbage is mostly their bytes (outside the V8 heap), freed, it appears, at the full
 * collections a larger old generation postpones; at 64 MiB the flood broke that target. 40 MiB keeps about 10 MB of
 * room and most of the latency gain. At 64 MiB batch 100 also ran 3-8% faster (fewer full
 * collections); at 40 that was not measured apart.
 *
 *   spawn(process.execPath, [...peerNodeArgs(), 'bin/wspeer.js', 'start', ...])
 */

/** Initial old-generation size of a peer process, in MiB (default 40); 0 leaves V8's own sizing. */
export const DEFAULT_INITIAL_OLD_SPACE_MB = 40
/** Largest initial old generation accepted, in MiB (4096: V8's usual heap ceiling on 64-bit). */
export const MAX_INITIAL_OLD_SPACE_MB = 4096

/** Node flags for a peer process whose old generation starts at `initialOldSpaceMb` MiB. */
export function peerNodeArgs(initialOldSpaceMb: number = DEFAULT_INITIAL_OLD_SPACE_MB): string[] {
  if (!Number.isSafeInteger(initialOldSpaceMb) || initialOldSpaceMb < 0 || initialOldSpaceMb > MAX_INITIAL_OLD_SPACE_MB) {
    throw new RangeError(`initial old space must be an integer from 0 to ${MAX_INITIAL_OLD_SPACE_MB} MiB, got ${initialOldSpaceMb}`)
  }
  return initialOldSpaceMb === 0 ? [] : [`--initial-old-space-size=${initialOldSpaceMb}`]
}

/**
 * glibc's fixed mmap threshold for peer processes, in bytes (128 KiB, glibc's own starting value).
 * Issue #19: a peer answering non-reading remotes holds up to the send-buffer cap of ~800 KB frames
 * per link. glibc normally raises its mmap threshold to the size of any mmapped block it frees, so
 * after the first such frame is freed the next ones come from the malloc heap, and freeing them
 * does not give the pages back: RSS stayed ~120 MB above its level after the links were gone.
 * Setting MALLOC_MMAP_THRESHOLD_ fixes the threshold (and turns the adjustment off), so every large
 * buffer is its own mapping, returned to the system when V8 collects it. glibc reads the variable
 * at process start, so it is set in the environment of the processes this code spawns; operators
 * starting `wspeer start` themselves set it the same way (SECURITY.md).
 */
export const PEER_MALLOC_MMAP_THRESHOLD_BYTES = 128 * 1024

/**
 * glibc malloc arenas of a peer process (2). Issue #15: glibc gives each thread that allocates its
 * own arena, up to 8 per core, and a validator's threads (the main one, libuv's pool running
 * LevelDB's reads and writes, LevelDB's compaction thread) each fragment theirs; the pages freed
 * inside an arena are not given back. Four validators under the soak (`npm run soak`, 9,000 tx/s,
 * 7 minutes, 3.78M committed, medians of a minute of samples past 131,000 committed against the
 * last minute) grew 28-47.5 MB with the mmap threshold alone and -15..17 MB with 2 arenas as
 * well. Read by glibc at process start, like MALLOC_MMAP_THRESHOLD_.
 */
export const PEER_MALLOC_ARENA_MAX = 2

/** What peerProcessEnv sets, each unless set already (glibc reads them at process start). */
const PEER_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(PEER_MALLOC_MMAP_THRESHOLD_BYTES),
  MALLOC_ARENA_MAX: String(PEER_MALLOC_ARENA_MAX),
}

/** The environment variables peerProcessEnv sets. */
export const PEER_ENV_NAMES: readonly string[] = Object.keys(PEER_ENV)

/** `env` plus MALLOC_MMAP_THRESHOLD_ (PEER_MALLOC_MMAP_THRESHOLD_BYTES) and MALLOC_ARENA_MAX (PEER_MALLOC_ARENA_MAX), each unless set already. */
export function peerProcessEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env }
  for (const [name, value] of Object.entries(PEER_ENV)) out[name] ??= value
  return out
}

/**
 * The PEER_ENV_NAMES variables a peer started from `env` gets, as shell assignments
 * (`MALLOC_MMAP_THRESHOLD_=131072 MALLOC_ARENA_MAX=2` from an empty one): for help texts and reports.
 */
export function peerEnvText(env: NodeJS.ProcessEnv = {}): string {
  const out = peerProcessEnv(env)
  return PEER_ENV_NAMES.map((name) => `${name}=${String(out[name])}`).join(' ')
}
