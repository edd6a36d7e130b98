import { describe, expect, it } from 'vitest'
import {
  MIN_ROUNDS,
  REPORT_KEYS,
  buildReport,
  formatTable,
  interleave,
  median,
  notMeasured,
  parseArgs,
  passes,
  selected,
  summarize,
  summarizeRounds,
  type CaseResult,
  type ReportKey,
} from '../../bench/harness.js'
import { CASES } from '../../bench/cases.js'

describe('round statistics', () => {
  it('takes the median of odd and even counts, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
    expect(median([7])).toBe(7)
  })

  it('refuses an empty or non-finite sample', () => {
    expect(() => median([])).toThrow(RangeError)
    expect(() => summarize([])).toThrow(RangeError)
    expect(() => summarize([1, Number.NaN, 2])).toThrow(RangeError)
  })

  it('puts min, max and the round count beside the median', () => {
    expect(summarize([5, 1, 9, 3])).toEqual({ value: 4, min: 1, max: 9, rounds: 4, samples: [5, 1, 9, 3] })
  })

  it('summarizes per-round records key by key', () => {
    const figures = summarizeRounds([
      { ratio: 1, msgs_per_s: 10 },
      { ratio: 3, msgs_per_s: 30 },
      { ratio: 2, msgs_per_s: 20 },
    ])
    expect(figures.ratio).toMatchObject({ value: 2, min: 1, max: 3, rounds: 3 })
    expect(figures.msgs_per_s).toMatchObject({ value: 20, min: 10, max: 30, rounds: 3 })
  })

  it('visits every variant once per round, in an order that changes between rounds', () => {
    const variants = ['a', 'b', 'c']
    const orders = [0, 1, 2, 3].map((r) => interleave(variants, r))
    for (const order of orders) expect([...order].sort()).toEqual(variants)
    expect(new Set(orders.map((o) => o.join(''))).size).toBeGreaterThan(1)
    // Each variant goes first in some round, so none always runs on a cold machine.
    expect(new Set(orders.slice(0, 3).map((o) => o[0])).size).toBe(3)
  })
})

describe('targets', () => {
  it('compares in the direction of the target', () => {
    expect(passes(0.9, { op: '>=', bound: 0.9 })).toBe(true)
    expect(passes(0.89, { op: '>=', bound: 0.9 })).toBe(false)
    expect(passes(66, { op: '<=', bound: 66 })).toBe(true)
    expect(passes(66.1, { op: '<=', bound: 66 })).toBe(false)
  })
})

describe('report', () => {
  const measured: CaseResult = {
    status: 'measured',
    figures: { ratio: summarize([0.8, 0.95, 1]), msgs_per_s: summarize([100, 200, 300]) },
    targets: { ratio: { op: '>=', bound: 0.9 } },
    notes: { processes: 2 },
  }

  it('has every key, a measured entry with its figures and a not-measured entry with its reason', () => {
    const results = new Map<ReportKey, CaseResult>([
      ['transport.single', measured],
      ['browser', notMeasured('browser peer not written yet')],
    ])
    const report = buildReport(results, { quick: true }, 'skipped')
    expect(Object.keys(report).filter((k) => k !== 'meta').sort()).toEqual([...REPORT_KEYS].sort())
    expect(report['transport.single']).toMatchObject({
      status: 'measured',
      ratio: { value: 0.95, min: 0.8, max: 1, rounds: 3, target: '>= 0.9', pass: true },
      msgs_per_s: { value: 200, min: 100, max: 300, rounds: 3 },
      notes: { processes: 2 },
    })
    expect(report['transport.single']).not.toHaveProperty('msgs_per_s.pass')
    expect(report.browser).toEqual({ status: 'not measured', reason: 'browser peer not written yet' })
    expect(report.flood).toEqual({ status: 'not measured', reason: 'skipped' })
    // A not-measured entry never carries a number.
    expect(JSON.stringify(report['pbft.batch1'])).not.toMatch(/\d/)
    expect(report.meta).toEqual({ quick: true })
  })

  it('refuses a not-measured entry without a reason', () => {
    expect(() => notMeasured('  ')).toThrow(RangeError)
  })

  it('prints a row per figure with pass or FAIL, and not-measured rows with their reason', () => {
    const failing: CaseResult = { ...measured, targets: { ratio: { op: '>=', bound: 0.99 } } }
    const table = formatTable(new Map<ReportKey, CaseResult>([['transport.single', measured], ['transport.mesh', failing]]), 'skipped')
    expect(table).toMatch(/\| transport\.single ratio \| 0\.95 \| 0\.80\.\.1\.00 \(3\) \| >= 0\.9 \| pass \|/)
    expect(table).toMatch(/\| transport\.mesh ratio \| 0\.95 .*\| >= 0\.99 \| FAIL \|/)
    expect(table).toMatch(/\| pbft\.batch1 \| not measured \| \| \| skipped \|/)
    expect(table.split('\n')).toHaveLength(2 + 2 * 2 + (REPORT_KEYS.length - 2))
  })
})

describe('case registry', () => {
  it('has one case per report key, in report order, every one measured', () => {
    expect(CASES.map((c) => c.key)).toEqual([...REPORT_KEYS])
    for (const c of CASES) expect('run' in c, c.key).toBe(true)
  })
})

describe('command line', () => {
  it('reads --json, --quick and --only (repeated or comma-separated)', () => {
    expect(parseArgs(['--quick', '--json', 'out.json', '--only', 'transport.single,flood', '--only=pbft'])).toEqual({
      json: 'out.json',
      quick: true,
      only: ['transport.single', 'flood', 'pbft'],
    })
    expect(parseArgs([])).toEqual({ json: undefined, quick: false, only: [] })
  })

  it('refuses unknown flags and missing values', () => {
    expect(() => parseArgs(['--fast'])).toThrow(/unknown argument/)
    expect(() => parseArgs(['--json'])).toThrow(/needs a value/)
    expect(() => parseArgs(['--only', '--quick'])).toThrow(/needs a value/)
  })

  it('selects a case by its key or a prefix of it', () => {
    expect(selected('pbft.batch1', ['pbft'])).toBe(true)
    expect(selected('transport.mesh', ['transport.single'])).toBe(false)
    expect(selected('transport.single', ['transport.single'])).toBe(true)
    expect(selected('flood', [])).toBe(true)
    expect(selected('transport.single', ['trans'])).toBe(false)
  })

  it('never runs fewer rounds than a median needs', () => {
    expect(MIN_ROUNDS).toBeGreaterThanOrEqual(3)
  })
})
