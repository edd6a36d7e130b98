import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_INITIAL_OLD_SPACE_MB,
  MAX_INITIAL_OLD_SPACE_MB,
  PEER_MALLOC_ARENA_MAX,
  PEER_MALLOC_MMAP_THRESHOLD_BYTES,
  peerEnvText,
  peerNodeArgs,
  peerProcessEnv,
} from '../../src/node/peer-process.js'

describe('peerNodeArgs', () => {
  it('starts the old generation at the default size unless told otherwise', () => {
    expect(peerNodeArgs()).toEqual([`--initial-old-space-size=${DEFAULT_INITIAL_OLD_SPACE_MB}`])
    expect(peerNodeArgs(128)).toEqual(['--initial-old-space-size=128'])
  })

  it('leaves V8 its own sizing at 0', () => {
    expect(peerNodeArgs(0)).toEqual([])
  })

  it.each([-1, 1.5, MAX_INITIAL_OLD_SPACE_MB + 1, Number.NaN])('refuses %s', (mb) => {
    expect(() => peerNodeArgs(mb)).toThrow(RangeError)
  })

  it('gives flags this Node accepts (an unknown V8 flag makes node exit with "bad option")', () => {
    const run = spawnSync(process.execPath, [...peerNodeArgs(), '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' })
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: 'ok', stderr: '' })
  })
})

describe('peerProcessEnv', () => {
  it("adds glibc's mmap threshold and arena count, keeps what the caller set, and leaves the input alone", () => {
    const given = { PATH: '/bin', MALLOC_ARENA_MAX: '4' }
    expect(peerProcessEnv(given)).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: String(PEER_MALLOC_MMAP_THRESHOLD_BYTES) })
    expect(peerProcessEnv({})).toEqual({ MALLOC_MMAP_THRESHOLD_: String(PEER_MALLOC_MMAP_THRESHOLD_BYTES), MALLOC_ARENA_MAX: String(PEER_MALLOC_ARENA_MAX) })
    expect(given).toEqual({ PATH: '/bin', MALLOC_ARENA_MAX: '4' })
    expect(peerEnvText(given)).toBe(`MALLOC_MMAP_THRESHOLD_=${PEER_MALLOC_MMAP_THRESHOLD_BYTES} MALLOC_ARENA_MAX=4`)
    expect(peerEnvText()).toBe(`MALLOC_MMAP_THRESHOLD_=${PEER_MALLOC_MMAP_THRESHOLD_BYTES} MALLOC_ARENA_MAX=${PEER_MALLOC_ARENA_MAX}`)
  })
})
