/**
 * The Node consensus log (../core/consensus/consensus-log.ts): append-only files under
 * `<data-dir>/consensus`. It is written on PBFT's hot path, before every message a replica sends,
 * so it is plain files and one writev per append rather than LevelDB: a record costs a crc32 and
 * its bytes, not a memtable insert, a second log write and compactions later.
 *
 * Layout: one file per segment, `<label, 16 decimal digits>.wal`, holding records framed as
 * `[u32 LE payload length][u32 LE crc32 of the payload][payload]`. A crash can tear the last
 * record; at open the first record that does not check ends its segment, and the newest segment is
 * cut there so appends continue after good data. Nothing but a torn tail is ever rewritten.
 *
 * Durability follows the peer's fsync policy (ledger-store.ts FsyncPolicy):
 *   'block'       an append is durable once fdatasync'd. Appends made while a sync is in flight
 *                 share the next one (group commit), so a busy replica pays about one sync per
 *                 disk round trip, not one per input.
 *   'checkpoint'  an append is durable once written: the kernel holds it, so a process crash loses
 *                 nothing and a machine crash may lose the tail. Everything written is synced at
 *                 each rotation, which PBFT does at its stable checkpoint.
 *   'never'       durable once written; nothing is ever synced.
 * Syncs run on libuv's thread pool: the event loop never waits on the disk.
 *
 *   const log = await openFileConsensusLog({ dir: join(dataDir, CONSENSUS_LOG_DIR_NAME), fsync: 'block' })
 *   log.append([record], () => send(message))   // sent once the record is on disk
 */
// The module object rather than named imports: calls go through its properties, so a test can
// watch the syncs and unlinks (the order of sync and delete is the point of rotation).
import fs from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { crc32 } from 'node:zlib'
import type { ConsensusLog } from '../core/consensus/consensus-log.js'
import { WspeerError, describeError } from '../core/errors.js'
import type { FsyncPolicy } from '../core/ledger/ledger-store.js'
import { silentLogger, type Logger } from '../core/util/logger.js'

/** The consensus log's directory under a peer's data directory (the caller joins it). */
export const CONSENSUS_LOG_DIR_NAME = 'consensus'
/** A segment file's name ends so; the rest is its label. */
export const CONSENSUS_LOG_SEGMENT_SUFFIX = '.wal'
/**
 * A segment's label is zero-padded to this many decimal digits, so file names sort as labels do.
 * Number.MAX_SAFE_INTEGER, the largest label, has 16.
 */
export const CONSENSUS_LOG_LABEL_DIGITS = 16
/** A record's header: u32 LE payload length, u32 LE crc32 of the payload. */
export const CONSENSUS_LOG_RECORD_HEADER_BYTES = 8
/**
 * The largest record payload. A record is one PBFT message, which by default travels in a frame of
 * at most 1 MiB, so this is far above any real one; on load a length above it can only be a
 * corrupt header, and is treated as the end of the segment.
 */
export const CONSENSUS_LOG_MAX_RECORD_BYTES = 64 * 1024 * 1024

const SEGMENT_NAME = new RegExp(`^(\\d{${CONSENSUS_LOG_LABEL_DIGITS}})${CONSENSUS_LOG_SEGMENT_SUFFIX.replace('.', '\\.')}$`)
/** Stands in for the fd of a segment the test hook broke: never an open descriptor, so a write to it fails rather than landing in a file that reused the number. */
const BROKEN_FD = 0x7fffffff

/**
 * The consensus log cannot be used: a record over CONSENSUS_LOG_MAX_RECORD_BYTES, a label that
 * goes backwards (both programming errors), or a log directory that cannot be read at open.
 */
export class ConsensusLogError extends WspeerError {
  override readonly name: string = 'ConsensusLogError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONSENSUS_LOG', message, options)
  }
}

export interface FileConsensusLogOptions {
  /** The log's directory, created if missing (usually `join(dataDir, CONSENSUS_LOG_DIR_NAME)`). */
  dir: string
  fsync: FsyncPolicy
  log?: Logger
}

export interface FileConsensusLog extends ConsensusLog {
  /** False after a write or sync failed: from then on nothing is logged and no `durable` runs. */
  readonly healthy: boolean
  /** @internal test hook: closes the newest segment's file under the log, so its next write fails as a failing disk's would. */
  breakSegmentForTest(): void
}

/**
 * Opens (or creates) the log in `options.dir` and reads every segment into `loaded`. A torn or
 * corrupt record ends its segment with a warning; only a directory or file that cannot be read
 * throws (ConsensusLogError).
 */
export async function openFileConsensusLog(options: FileConsensusLogOptions): Promise<FileConsensusLog> {
  const log = options.log ?? silentLogger
  const dir = options.dir
  const unreadable = (what: string, err: unknown): ConsensusLogError =>
    new ConsensusLogError(`cannot read the consensus log ${what} (${describeError(err)}); to start over without it, stop the peer and remove the directory: rm -rf '${dir}'`, { cause: err })

  let names: string[]
  try {
    const created = await fs.promises.mkdir(dir, { recursive: true })
    // A new directory's entry in its parent must survive a crash too, or so would nothing in it.
    if (created !== undefined) await syncNewDirs(created, dir)
    names = await fs.promises.readdir(dir)
  } catch (err) {
    throw unreadable(`directory ${dir}`, err)
  }

  const labels: number[] = []
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name)
    if (match === null) continue
    const label = Number(match[1])
    if (!Number.isSafeInteger(label)) {
      log.warn('consensus log segment with an impossible label ignored', { file: join(dir, name) })
      continue
    }
    labels.push(label)
  }
  labels.sort((a, b) => a - b)

  const loaded: Uint8Array[] = []
  for (let i = 0; i < labels.length; i++) {
    const path = segmentPath(dir, labels[i]!)
    let data: Buffer
    try {
      data = await fs.promises.readFile(path)
    } catch (err) {
      throw unreadable(`file ${path}`, err)
    }
    const end = readRecords(data, loaded)
    if (end.reason === undefined) continue
    const newest = i === labels.length - 1
    log.warn('consensus log segment ends in a torn or corrupt record; the records from it on are dropped', {
      file: path,
      offset: end.offset,
      reason: end.reason,
      truncated: newest,
    })
    if (newest) {
      try {
        await fs.promises.truncate(path, end.offset)
      } catch (err) {
        throw unreadable(`file ${path} (cutting its torn tail)`, err)
      }
    }
  }

  const loadedLabel = labels.at(-1) ?? 0
  let segment: SegmentFile
  try {
    segment = openSegment(dir, loadedLabel)
  } catch (err) {
    throw unreadable(`file ${segmentPath(dir, loadedLabel)}`, err)
  }
  if (labels.length === 0) labels.push(loadedLabel)
  return new FileLog(dir, options.fsync, log, loaded, loadedLabel, labels, segment)
}

interface SegmentFile {
  readonly label: number
  fd: number
  /** Created by this process: the directory must be synced before its records count as durable. */
  created: boolean
  /** Written since its last sync began. */
  dirty: boolean
  /** Syncs in flight on it: its fd is closed only once none is. */
  syncing: number
  /** Appends moved on to a newer segment; closed once clean. */
  retired: boolean
  closed: boolean
}

class FileLog implements FileConsensusLog {
  readonly loaded: readonly Uint8Array[]
  readonly loadedLabel: number
  readonly #dir: string
  readonly #fsync: FsyncPolicy
  readonly #log: Logger
  /** Labels of the segments on disk and not being deleted, ascending. */
  #labels: number[]
  /** The segment appends go to. */
  #current: SegmentFile
  /** Open segments: the current one, and retired ones waiting for a sync before their fd closes. */
  #files: SegmentFile[]
  /** Durable callbacks (and deletions) waiting for the next sync, in append order. */
  #waiting: (() => void)[] = []
  #syncing = false
  /** A segment file was created since the last sync began: the next one syncs the directory. */
  #dirDirty = false
  #idleWaiters: (() => void)[] = []
  readonly #unlinking = new Set<Promise<void>>()
  #failed = false
  #closed = false
  #closing: Promise<void> | undefined

  constructor(dir: string, fsync: FsyncPolicy, log: Logger, loaded: Uint8Array[], loadedLabel: number, labels: number[], segment: SegmentFile) {
    this.#dir = dir
    this.#fsync = fsync
    this.#log = log
    this.loaded = loaded
    this.loadedLabel = loadedLabel
    this.#labels = labels
    this.#current = segment
    this.#files = [segment]
    this.#dirDirty = segment.created
  }

  get healthy(): boolean {
    return !this.#failed
  }

  append(records: readonly Uint8Array[], durable: () => void): void {
    const buffers = frame(records)
    if (this.#closed || this.#failed) return
    if (!this.#write(this.#current, buffers)) return
    if (this.#fsync === 'block') {
      this.#waiting.push(durable)
      this.#kick()
      return
    }
    durable()
  }

  rotate(label: number, snapshot: readonly Uint8Array[], dropBelow: number): void {
    if (!Number.isSafeInteger(label) || label < this.#current.label) {
      throw new ConsensusLogError(`consensus log segments only move forward: rotate to ${label} after ${this.#current.label}`)
    }
    const buffers = frame(snapshot)
    if (this.#closed || this.#failed) return

    let next = this.#current
    if (label !== this.#current.label) {
      try {
        next = openSegment(this.#dir, label)
      } catch (err) {
        this.#fail(err)
        return
      }
      if (next.created) this.#dirDirty = true
      this.#files.push(next)
      this.#labels.push(label)
    }
    if (!this.#write(next, buffers)) return
    if (next !== this.#current) {
      const old = this.#current
      this.#current = next
      old.retired = true
      this.#closeIfDone(old)
    }

    const drop = this.#labels.filter((l) => l < dropBelow && l !== label)
    this.#labels = this.#labels.filter((l) => !drop.includes(l))
    const unlink = (): void => {
      for (const l of drop) this.#unlink(l)
    }
    if (this.#fsync === 'never') {
      unlink()
      return
    }
    // The snapshot replaces the dropped segments only once it is on disk itself; under
    // 'checkpoint' this round is also the checkpoint's sync of everything written since the last.
    next.dirty = true
    this.#waiting.push(unlink)
    this.#kick()
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  breakSegmentForTest(): void {
    const segment = this.#current
    if (segment.closed || segment.fd === BROKEN_FD) return
    fs.closeSync(segment.fd)
    segment.fd = BROKEN_FD
  }

  async #shutdown(): Promise<void> {
    this.#closed = true
    if (!this.#failed && this.#fsync !== 'never' && (this.#dirDirty || this.#files.some((f) => f.dirty))) {
      this.#current.dirty = true
      this.#waiting.push(() => {})
      this.#kick()
    }
    await new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve)
      this.#settleIfIdle()
    })
    await Promise.all(this.#unlinking)
    for (const f of this.#files) this.#closeFile(f)
    this.#files = []
  }

  /** One writev of framed records; false (and the log failed) when it did not all go out. */
  #write(segment: SegmentFile, buffers: Uint8Array[]): boolean {
    if (buffers.length === 0) return true
    let expected = 0
    for (const b of buffers) expected += b.byteLength
    try {
      const written = fs.writevSync(segment.fd, buffers)
      if (written !== expected) throw new Error(`short write: ${written} of ${expected} bytes`)
    } catch (err) {
      this.#fail(err)
      return false
    }
    if (this.#fsync !== 'never') segment.dirty = true
    return true
  }

  /** Starts a sync for what waits, unless one is in flight (its completion starts the next). */
  #kick(): void {
    if (this.#syncing || this.#failed || this.#waiting.length === 0) {
      this.#settleIfIdle()
      return
    }
    this.#syncing = true
    const batch = this.#waiting
    this.#waiting = []
    const files = this.#files.filter((f) => f.dirty)
    // An append of no records still waits for the syncs of everything before it: this one.
    if (files.length === 0) files.push(this.#current)
    const syncDirectory = this.#dirDirty
    this.#dirDirty = false
    let pending = files.length + (syncDirectory ? 1 : 0)
    let failure: NodeJS.ErrnoException | null = null
    // Completes once every sync has returned, failed or not: the fds stay open until then.
    const done = (err: NodeJS.ErrnoException | null): void => {
      failure ??= err
      if (--pending > 0) return
      this.#syncing = false
      for (const f of files) {
        f.syncing--
        this.#closeIfDone(f)
      }
      if (failure !== null) this.#fail(failure)
      if (this.#failed) {
        this.#settleIfIdle()
        return
      }
      // The next round starts before these callbacks run, so one that throws cannot stall the log.
      this.#kick()
      for (const fn of batch) fn()
    }
    for (const f of files) {
      f.dirty = false
      f.syncing++
      fs.fdatasync(f.fd, done)
    }
    if (syncDirectory) syncDir(this.#dir, done)
  }

  #fail(err: unknown): void {
    if (this.#failed) return
    this.#failed = true
    this.#waiting = []
    this.#log.error('consensus log write failed; nothing more is logged and no message waiting on it is sent', { dir: this.#dir, error: describeError(err) })
    this.#settleIfIdle()
  }

  #settleIfIdle(): void {
    if (this.#syncing || (!this.#failed && this.#waiting.length > 0)) return
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  #closeIfDone(segment: SegmentFile): void {
    if (!segment.retired || segment.dirty || segment.syncing > 0) return
    this.#closeFile(segment)
    this.#files = this.#files.filter((f) => f !== segment)
  }

  #closeFile(segment: SegmentFile): void {
    if (segment.closed) return
    segment.closed = true
    if (segment.fd === BROKEN_FD) return
    try {
      fs.closeSync(segment.fd)
    } catch (err) {
      // What was written was synced (or the policy does not sync); a close error changes nothing.
      this.#log.warn('consensus log segment close failed', { file: segmentPath(this.#dir, segment.label), error: describeError(err) })
    }
  }

  #unlink(label: number): void {
    const path = segmentPath(this.#dir, label)
    const done = new Promise<void>((resolve) => {
      fs.unlink(path, (err) => {
        // A segment left behind is only read again at the next open, before the snapshot that
        // replaced it: old records a restart replays and supersedes. Worth a warning, not a failure.
        if (err !== null && err.code !== 'ENOENT') this.#log.warn('consensus log segment could not be deleted', { file: path, error: describeError(err) })
        resolve()
      })
    })
    this.#unlinking.add(done)
    done.then(
      () => this.#unlinking.delete(done),
      () => this.#unlinking.delete(done),
    )
  }
}

function segmentPath(dir: string, label: number): string {
  return join(dir, `${String(label).padStart(CONSENSUS_LOG_LABEL_DIGITS, '0')}${CONSENSUS_LOG_SEGMENT_SUFFIX}`)
}

/** Opens segment `label` for appending, creating it if missing (and saying so). */
function openSegment(dir: string, label: number): SegmentFile {
  const path = segmentPath(dir, label)
  let fd: number
  let created = true
  try {
    fd = fs.openSync(path, 'ax')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    // Appends continue after what is there: a segment is never truncated but for a torn tail.
    fd = fs.openSync(path, 'a')
    created = false
  }
  return { label, fd, created, dirty: false, syncing: 0, retired: false, closed: false }
}

/**
 * The writev buffers for `records`: each header, then its payload, with no copy of the payloads.
 * Throws, before anything is written, for a record over the cap.
 */
function frame(records: readonly Uint8Array[]): Uint8Array[] {
  const headers = Buffer.allocUnsafe(records.length * CONSENSUS_LOG_RECORD_HEADER_BYTES)
  const buffers: Uint8Array[] = []
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    if (record.byteLength > CONSENSUS_LOG_MAX_RECORD_BYTES) {
      throw new ConsensusLogError(`a consensus log record of ${record.byteLength} bytes is over the limit of ${CONSENSUS_LOG_MAX_RECORD_BYTES} bytes`)
    }
    const at = i * CONSENSUS_LOG_RECORD_HEADER_BYTES
    headers.writeUInt32LE(record.byteLength, at)
    headers.writeUInt32LE(crc32(record), at + 4)
    buffers.push(headers.subarray(at, at + CONSENSUS_LOG_RECORD_HEADER_BYTES))
    if (record.byteLength > 0) buffers.push(record)
  }
  return buffers
}

/**
 * Appends to `out` the records of a segment, as views into `data`, up to the first that does not
 * check; returns where that one starts and why it failed (no reason when the segment is whole).
 */
function readRecords(data: Buffer, out: Uint8Array[]): { offset: number; reason?: string } {
  let offset = 0
  while (offset < data.byteLength) {
    if (data.byteLength - offset < CONSENSUS_LOG_RECORD_HEADER_BYTES) return { offset, reason: 'short header' }
    const length = data.readUInt32LE(offset)
    const sum = data.readUInt32LE(offset + 4)
    if (length > CONSENSUS_LOG_MAX_RECORD_BYTES) return { offset, reason: `length ${length} over the limit` }
    const start = offset + CONSENSUS_LOG_RECORD_HEADER_BYTES
    if (data.byteLength - start < length) return { offset, reason: 'short payload' }
    const payload = new Uint8Array(data.buffer, data.byteOffset + start, length)
    if (crc32(payload) !== sum) return { offset, reason: 'crc mismatch' }
    out.push(payload)
    offset = start + length
  }
  return { offset }
}

/** Makes the directory's entries durable (a created file, a deleted one) by syncing the directory itself. */
function syncDir(dir: string, done: (err: NodeJS.ErrnoException | null) => void): void {
  // Windows cannot open a directory for syncing; NTFS journals its metadata anyway.
  if (process.platform === 'win32') {
    setImmediate(done, null)
    return
  }
  fs.open(dir, 'r', (openErr, fd) => {
    if (openErr !== null) {
      done(openErr)
      return
    }
    fs.fsync(fd, (syncErr) => fs.close(fd, (closeErr) => done(syncErr ?? closeErr)))
  })
}

/** Syncs the parent of every directory from `dir` up to `top`, the first that mkdir created. */
async function syncNewDirs(top: string, dir: string): Promise<void> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const parent = dirname(d)
    await new Promise<void>((ok, fail) => syncDir(parent, (err) => (err === null ? ok() : fail(err))))
    if (d === resolve(top) || parent === d) return
  }
}
