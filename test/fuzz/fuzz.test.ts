import { describe, expect, it } from 'vitest'
import { formatReport, runFuzz } from '../../fuzz/harness.js'
import { createFrameGenerator } from '../../fuzz/frame-generator.js'
import { seededRandom } from '../support/seeded-random.js'
import { testSeed } from '../support/test-seed.js'

/**
 * The wire fuzz harness in-process (fuzz/harness.ts): 50,000 random and mutated frames into a live
 * Node peer over real WebSocket links, then the properties of issue 5. `npm run fuzz` runs the
 * same harness with any frame count. WSPEER_TEST_SEED replays a run (test/support/test-seed.ts).
 */
const FRAMES = 50_000
const seed = testSeed('wire fuzz harness')

describe('wire fuzz harness', () => {
  it('generates the same frames from the same seed, and different ones from another', () => {
    const take = (s: number): string[] => {
      const next = createFrameGenerator(seededRandom(s))
      return Array.from({ length: 200 }, () => Buffer.from(next().frame).toString('hex'))
    }
    expect(take(7)).toEqual(take(7))
    expect(take(8)).not.toEqual(take(7))
  })

  it('uses every recipe', () => {
    const next = createFrameGenerator(seededRandom(seed))
    const recipes = new Set(Array.from({ length: 5000 }, () => next().recipe.split(':')[0]))
    expect([...recipes].sort()).toEqual(
      ['bomb', 'ext-type', 'garbage-frame', 'garbage-payload', 'hostile-envelope', 'huge-length', 'mutated', 'random-bytes', 'retyped', 'valid'].sort(),
    )
  })

  it(`survives ${FRAMES} frames: no crash, no uncaught error, no pollution, bounded RSS, still commits`, async () => {
    console.log(`fuzz seed ${seed} (replay: WSPEER_TEST_SEED=${seed} npx vitest run test/fuzz, or npm run fuzz -- --frames ${FRAMES} --seed ${seed})`)
    const report = await runFuzz({ frames: FRAMES, seed })
    console.log(formatReport(report))
    expect(report.failures).toEqual([])
    expect(report.frames).toBe(FRAMES)
    // Nearly every frame provably reached the peer (a few may be given up after MAX_RESENDS).
    expect(report.framesAcknowledged).toBeGreaterThan(FRAMES * 0.95)
    expect(report.rssGrowth).toBeLessThan(50 * 1024 * 1024)
    expect(report.committed).toBeDefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  }, 120_000)
})
