import { spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { DEFAULT_INITIAL_OLD_SPACE_MB, MAX_INITIAL_OLD_SPACE_MB, peerNodeArgs } from '../../src/node/peer-process.js'

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
