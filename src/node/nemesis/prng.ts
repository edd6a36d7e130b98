/**
 * The nemesis's seeded random source (mulberry32): the same seed gives the same fault plan, so a
 * failing run can be replayed with `--seed`. Not for anything secret.
 *
 *   const random = seededRandom(42)
 *   random()          // in [0, 1)
 *   pick(random, 1, 4) // integer in 1..4
 */
export type Random = () => number

export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** An integer in min..max inclusive. */
export function pick(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1))
}
