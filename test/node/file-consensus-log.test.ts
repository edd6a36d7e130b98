import fs from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { FsyncPolicy } from '../../src/core/ledger/ledger-store.js'
import type { LogFields, Logger } from '../../src/core/util/logger.js'
import {
  CONSENSUS_LOG_DIR_NAME,
  CONSENSUS_LOG_MAX_RECORD_BYTES,
  CONSENSUS_LOG_RECORD_HEADER_BYTES,
  ConsensusLogError,
  openFileConsensusLog,
  type FileConsensusLog,
} from '../../src/node/file-consensus-log.js'

const POLICIES: readonly FsyncPolicy[] = ['block', 'checkpoint', 'never']
const bytes = (...xs: number[]) => Uint8Array.from(xs)
const segmentName = (label: number) => `${String(label).padStart(16, '0')}.wal`

interface Entry {
  level: string
  msg: string
  fields: LogFields | undefined
}

function captureLogger(entries: Entry[]): Logger {
  const at = (level: string) => (msg: string, fields?: LogFields) => void entries.push({ level, msg, fields })
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

/** Appends and resolves when `durable` runs. */
function appended(log: FileConsensusLog, records: Uint8Array[]): Promise<void> {
  return new Promise((resolve) => log.append(records, resolve))
}

let dir: string
let open: FileConsensusLog[]
beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'wspeer-consensus-log-'))
  open = []
})
afterEach(async () => {
  vi.restoreAllMocks()
  for (const log of open) await log.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

async function openLog(fsync: FsyncPolicy, log?: Logger): Promise<FileConsensusLog> {
  const opened = await openFileConsensusLog({ dir, fsync, ...(log === undefined ? {} : { log }) })
  open.push(opened)
  return opened
}

describe('file consensus log', () => {
  it('gives back what was appended, in order, when reopened', async () => {
    const first = await openLog('block')
    expect(first.loaded).toEqual([])
    expect(first.loadedLabel).toBe(0)
    first.append([bytes(1), bytes(2, 2)], () => {})
    first.append([new Uint8Array(0)], () => {})
    await appended(first, [bytes(3, 3, 3)])
    await first.close()
    expect(fs.readdirSync(dir)).toEqual([segmentName(0)])

    const second = await openLog('block')
    expect(second.loaded).toEqual([bytes(1), bytes(2, 2), new Uint8Array(0), bytes(3, 3, 3)])
    expect(second.loadedLabel).toBe(0)
    expect(second.healthy).toBe(true)
  })

  it('creates the directory, nested, when missing', async () => {
    const nested = join(dir, 'data', CONSENSUS_LOG_DIR_NAME)
    const log = await openFileConsensusLog({ dir: nested, fsync: 'block' })
    open.push(log)
    await appended(log, [bytes(7)])
    await log.close()
    expect(fs.readdirSync(nested)).toEqual([segmentName(0)])
  })

  for (const fsync of POLICIES) {
    it(`runs durable callbacks in append order under fsync '${fsync}'`, async () => {
      const log = await openLog(fsync)
      const done: number[] = []
      const all: Promise<void>[] = []
      for (let i = 0; i < 5; i++) all.push(new Promise((resolve) => log.append([bytes(i)], () => resolve(void done.push(i)))))
      // Under 'block' nothing is durable before its fdatasync returns; otherwise it is once written.
      expect(done).toEqual(fsync === 'block' ? [] : [0, 1, 2, 3, 4])
      await Promise.all(all)
      expect(done).toEqual([0, 1, 2, 3, 4])
    })
  }

  it("groups the appends made while a sync is in flight into the next sync under 'block'", async () => {
    const log = await openLog('block')
    const syncs = vi.spyOn(fs, 'fdatasync')
    const done: number[] = []
    let last: Promise<void> = Promise.resolve()
    for (let i = 0; i < 50; i++) last = new Promise((resolve) => log.append([bytes(i)], () => resolve(void done.push(i))))
    await last
    expect(done).toEqual(Array.from({ length: 50 }, (_, i) => i))
    // The first append started a sync; the other 49 shared the one after it.
    expect(syncs).toHaveBeenCalledTimes(2)
  })

  for (const fsync of POLICIES) {
    it(`rotates under fsync '${fsync}': keeps the snapshots, drops only the segments below dropBelow`, async () => {
      const log = await openLog(fsync)
      log.append([bytes(1)], () => {})
      log.rotate(10, [bytes(10)], 0)
      log.append([bytes(11)], () => {})
      log.rotate(20, [bytes(20)], 10)
      await appended(log, [bytes(21)])
      await log.close()
      expect(fs.readdirSync(dir).sort()).toEqual([segmentName(10), segmentName(20)])

      const reopened = await openLog(fsync)
      expect(reopened.loaded).toEqual([bytes(10), bytes(11), bytes(20), bytes(21)])
      expect(reopened.loadedLabel).toBe(20)
      // Rotating to the segment appends are going to keeps what it holds.
      reopened.rotate(20, [bytes(22)], 20)
      await appended(reopened, [bytes(23)])
      await reopened.close()
      expect(fs.readdirSync(dir).sort()).toEqual([segmentName(20)])
      expect((await openLog(fsync)).loaded).toEqual([bytes(20), bytes(21), bytes(22), bytes(23)])
    })
  }

  for (const fsync of ['block', 'checkpoint'] as const) {
    it(`deletes old segments only after the new one and the directory are synced under fsync '${fsync}'`, async () => {
      const log = await openLog(fsync)
      await appended(log, [bytes(1)])
      const events: string[] = []
      const fdatasync = fs.fdatasync.bind(fs)
      const fsync_ = fs.fsync.bind(fs)
      const unlink = fs.unlink.bind(fs)
      vi.spyOn(fs, 'fdatasync').mockImplementation(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
        fdatasync(fd, (err) => {
          events.push('fdatasync')
          cb(err)
        })) as typeof fs.fdatasync)
      vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) =>
        fsync_(fd, (err) => {
          events.push('fsync')
          cb(err)
        })) as typeof fs.fsync)
      vi.spyOn(fs, 'unlink').mockImplementation(((path: fs.PathLike, cb: fs.NoParamCallback) => {
        events.push(`unlink ${String(path).slice(-20)}`)
        unlink(path, cb)
      }) as typeof fs.unlink)

      log.rotate(10, [bytes(10)], 10)
      expect(events).toEqual([])
      expect(fs.readdirSync(dir).sort()).toEqual([segmentName(0), segmentName(10)])
      await log.close()
      expect(events).toContain('fsync')
      const unlinkAt = events.indexOf(`unlink ${segmentName(0)}`)
      expect(unlinkAt).toBeGreaterThan(events.indexOf('fsync'))
      expect(unlinkAt).toBeGreaterThan(events.indexOf('fdatasync'))
      expect(fs.readdirSync(dir)).toEqual([segmentName(10)])
    })
  }

  it("deletes old segments at once under fsync 'never', without syncing", async () => {
    const log = await openLog('never')
    log.append([bytes(1)], () => {})
    const unlinks = vi.spyOn(fs, 'unlink')
    const syncs = vi.spyOn(fs, 'fdatasync')
    log.rotate(5, [bytes(5)], 5)
    expect(unlinks).toHaveBeenCalledTimes(1)
    await log.close()
    expect(syncs).not.toHaveBeenCalled()
    expect(fs.readdirSync(dir)).toEqual([segmentName(5)])
  })

  it('refuses a rotation to a lower label', async () => {
    const log = await openLog('block')
    log.rotate(10, [], 0)
    expect(() => log.rotate(9, [], 0)).toThrow(ConsensusLogError)
    expect(() => log.rotate(9, [], 0)).toThrow(expect.objectContaining({ code: 'ERR_CONSENSUS_LOG', name: 'ConsensusLogError' }))
  })

  const damages: [string, (path: string) => void][] = [
    ['a record cut short', (path) => fs.truncateSync(path, fs.statSync(path).size - 3)],
    ['a header cut short', (path) => fs.truncateSync(path, fs.statSync(path).size - 4 - CONSENSUS_LOG_RECORD_HEADER_BYTES + 5)],
    [
      'a flipped payload byte',
      (path) => {
        const data = fs.readFileSync(path)
        data[data.length - 1]! ^= 0xff
        fs.writeFileSync(path, data)
      },
    ],
    [
      'a length over the cap',
      (path) => {
        const data = fs.readFileSync(path)
        data.writeUInt32LE(CONSENSUS_LOG_MAX_RECORD_BYTES + 1, data.length - 4 - CONSENSUS_LOG_RECORD_HEADER_BYTES)
        fs.writeFileSync(path, data)
      },
    ],
  ]
  for (const [what, damage] of damages) {
    it(`loses only the last record to ${what}, warns, and appends after the good data`, async () => {
      const first = await openLog('block')
      first.append([bytes(1, 1, 1, 1)], () => {})
      first.append([bytes(2, 2, 2, 2)], () => {})
      await appended(first, [bytes(3, 3, 3, 3)])
      await first.close()
      const path = join(dir, segmentName(0))
      damage(path)
      const goodBytes = 2 * (CONSENSUS_LOG_RECORD_HEADER_BYTES + 4)

      const entries: Entry[] = []
      const second = await openLog('block', captureLogger(entries))
      expect(second.loaded).toEqual([bytes(1, 1, 1, 1), bytes(2, 2, 2, 2)])
      const warnings = entries.filter((e) => e.level === 'warn')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.fields).toMatchObject({ file: path, offset: goodBytes })
      expect(fs.statSync(path).size).toBe(goodBytes)
      await appended(second, [bytes(4)])
      await second.close()

      const third = await openLog('block', captureLogger(entries))
      expect(third.loaded).toEqual([bytes(1, 1, 1, 1), bytes(2, 2, 2, 2), bytes(4)])
      expect(entries.filter((e) => e.level === 'warn')).toHaveLength(1)
    })
  }

  it('keeps the later segments when an older one is damaged, and does not cut the older one', async () => {
    const first = await openLog('never')
    first.append([bytes(1), bytes(2)], () => {})
    first.rotate(10, [bytes(10)], 0)
    first.append([bytes(11)], () => {})
    await first.close()
    const older = join(dir, segmentName(0))
    const size = fs.statSync(older).size
    fs.truncateSync(older, size - 1)

    const entries: Entry[] = []
    const second = await openLog('never', captureLogger(entries))
    expect(second.loaded).toEqual([bytes(1), bytes(10), bytes(11)])
    expect(entries.filter((e) => e.level === 'warn')).toHaveLength(1)
    expect(fs.statSync(older).size).toBe(size - 1)
  })

  it('throws ConsensusLogError naming the directory when it cannot be read', async () => {
    const file = join(dir, 'not-a-dir')
    fs.writeFileSync(file, '')
    const opening = openFileConsensusLog({ dir: file, fsync: 'block' })
    await expect(opening).rejects.toThrow(ConsensusLogError)
    await expect(opening).rejects.toThrow(new RegExp(`${file}.*rm -rf`))
  })

  it('refuses an oversized record before writing anything', async () => {
    const log = await openLog('never')
    let called = false
    const big = new Uint8Array(CONSENSUS_LOG_MAX_RECORD_BYTES + 1)
    expect(() => log.append([bytes(1), big], () => (called = true))).toThrow(ConsensusLogError)
    expect(() => log.rotate(1, [big], 0)).toThrow(expect.objectContaining({ code: 'ERR_CONSENSUS_LOG' }))
    expect(called).toBe(false)
    expect(log.healthy).toBe(true)
    await log.close()
    expect(fs.statSync(join(dir, segmentName(0))).size).toBe(0)
    expect(fs.readdirSync(dir)).toEqual([segmentName(0)])
  })

  it('runs the callbacks of appends made before close, and never those made after', async () => {
    const log = await openLog('block')
    let before = false
    log.append([bytes(1)], () => (before = true))
    const closing = log.close()
    let after = false
    log.append([bytes(2)], () => (after = true))
    log.rotate(10, [bytes(10)], 0)
    await closing
    expect(before).toBe(true)
    // close() resolves once the log is idle: a callback it would run has run by then.
    await log.close()
    expect(after).toBe(false)
    const reopened = await openLog('block')
    expect(reopened.loaded).toEqual([bytes(1)])
    expect(reopened.loadedLabel).toBe(0)
  })

  for (const fsync of POLICIES) {
    it(`stops for good after a failed write under fsync '${fsync}'`, async () => {
      const entries: Entry[] = []
      const log = await openLog(fsync, captureLogger(entries))
      await appended(log, [bytes(1)])
      const called: number[] = []
      // Under 'block' these wait for a sync when the write fails: they must not run either.
      log.append([bytes(2)], () => called.push(2))
      log.append([bytes(3)], () => called.push(3))
      const before = [...called]
      log.breakSegmentForTest()
      log.append([bytes(4)], () => called.push(4))
      expect(log.healthy).toBe(false)
      log.append([bytes(5)], () => called.push(5))
      log.rotate(10, [bytes(10)], 0)
      // close() resolves once the log is idle: a callback it would run has run by then.
      await log.close()
      expect(called).toEqual(fsync === 'block' ? [] : before)
      const errors = entries.filter((e) => e.level === 'error')
      expect(errors).toHaveLength(1)
      expect(errors[0]!.fields).toMatchObject({ dir })
      expect(fs.readdirSync(dir)).toEqual([segmentName(0)])
      expect((await openLog(fsync)).loaded).toEqual([bytes(1), bytes(2), bytes(3)])
    })
  }
})
