/** Ports for tests: the Node layer's freePortRun (the nemesis uses it too). */
export { freePortRun } from '../../src/node/free-ports.js'
