/** The project's seeded PRNG, for tests (it lives with the simulator, which ships in src/). */
export { seededRandom } from '../../src/sim/seeded-random.js'
