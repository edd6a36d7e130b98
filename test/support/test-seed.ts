/**
 * Seeds for randomized tests: fixed by default, so every run of `npm test` tries the same cases
 * and a failure shows up again on the next run. Set WSPEER_TEST_SEED to a number to replay (or
 * try) that seed in every randomized test, or to `random` for a fresh one; printed either way.
 */
export const TEST_SEED_ENV = 'WSPEER_TEST_SEED'

/** The default seed when WSPEER_TEST_SEED is not set. */
export const DEFAULT_TEST_SEED = 0x5eed

export function testSeed(name: string, fixed = DEFAULT_TEST_SEED): number {
  const env = process.env[TEST_SEED_ENV]
  const seed = env === undefined || env === '' ? fixed : env === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(env)
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new RangeError(`${TEST_SEED_ENV} must be an integer in [0, 2^32) or "random", got ${JSON.stringify(env)}`)
  }
  console.log(`${name}: seed ${seed} (replay with ${TEST_SEED_ENV}=${seed})`)
  return seed
}
