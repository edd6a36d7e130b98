import { describe, expect, it } from 'vitest'
import type { SeqDigest, SeqDigestView, ViewChangeMsg } from '../../../../src/core/consensus/pbft/messages.js'
import { assignSequenceNumbers, selectCheckpoint } from '../../../../src/core/consensus/pbft/view-change.js'

const f = 1
const L = 40
const A = 'a'.repeat(64)
const B = 'b'.repeat(64)
const G = '0'.repeat(64)
const C10 = 'c'.repeat(64)

function vc(r: number, h: number, C: SeqDigest[], P: SeqDigestView[] = [], Q: SeqDigestView[] = P): ViewChangeMsg {
  return { t: 'vc', v: 5, r, h, C, P, Q }
}

describe('selectCheckpoint', () => {
  it('picks the highest checkpoint f+1 vouch for that 2f+1 are not past', () => {
    const vcs = [vc(0, 0, [[0, G], [10, C10]]), vc(1, 10, [[10, C10]]), vc(2, 0, [[0, G]])]
    expect(selectCheckpoint(vcs, f)).toEqual([10, C10])
  })

  it('ignores a checkpoint only one replica (maybe lying) claims', () => {
    const vcs = [vc(0, 0, [[0, G], [20, A]]), vc(1, 0, [[0, G]]), vc(2, 0, [[0, G]])]
    expect(selectCheckpoint(vcs, f)).toEqual([0, G])
  })

  it('returns undefined when no checkpoint qualifies', () => {
    expect(selectCheckpoint([vc(0, 10, [[10, C10]]), vc(1, 0, [[0, G]]), vc(2, 0, [[0, G]])], f)).toBeUndefined()
  })
})

describe('assignSequenceNumbers', () => {
  it('re-proposes what was prepared and fills gaps with null requests', () => {
    const vcs = [vc(0, 0, [[0, G]], [[1, A, 4], [3, B, 4]]), vc(1, 0, [[0, G]], [[1, A, 4], [3, B, 4]]), vc(2, 0, [[0, G]])]
    expect(assignSequenceNumbers(vcs, 0, f, L)).toEqual([
      [1, A],
      [2, ''],
      [3, B],
    ])
  })

  it('prefers the certificate from the later view', () => {
    const vcs = [vc(0, 0, [], [[1, A, 2]]), vc(1, 0, [], [[1, B, 3]]), vc(2, 0, [], [[1, B, 3]])]
    expect(assignSequenceNumbers(vcs, 0, f, L)).toEqual([[1, B]])
  })

  it('needs f+1 pre-prepare witnesses: a lone prepared claim is not enough', () => {
    const vcs = [vc(0, 0, [], [[1, A, 2]], [[1, A, 2]]), vc(1, 0, [], [], []), vc(2, 0, [], [], []), vc(3, 0, [], [], [])]
    // 2f+1 have no prepared certificate at 1, so a null request is chosen instead.
    expect(assignSequenceNumbers(vcs, 0, f, L)).toEqual([[1, '']])
  })

  it('is undecided when neither rule holds (it waits for more view changes)', () => {
    const vcs = [vc(0, 0, [], [[1, A, 2]], [[1, A, 2]]), vc(1, 0, [], [], []), vc(2, 0, [], [], [])]
    expect(assignSequenceNumbers(vcs, 0, f, L)).toBeUndefined()
  })
})
