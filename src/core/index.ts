/**
 * The isomorphic core of wspeer: web standards only (Uint8Array, EventTarget, AbortSignal,
 * WebSocket-shaped sockets), so the same code runs in Node and in a browser tab.
 *
 * Data path of one message: chat/ (frame in) -> wire/ (decode) -> handlers/ (consensus handler:
 * bounded queue) -> engine/ (fan-in, one loop) -> consensus/ (consenter.recvMsg) -> ledger/.
 */
export * from './errors.js'
export * from './wire/index.js'
export * from './chat/index.js'
export * from './handlers/index.js'
export * from './engine/index.js'
export * from './peer/index.js'
export * from './consensus/index.js'
export * from './ledger/index.js'
export * from './identity/index.js'
export { systemClock, ManualClock, type Clock, type TimerHandle } from './util/clock.js'
export { silentLogger, createConsoleLogger, type Logger, type LogLevel, type LogFields } from './util/logger.js'
export { TypedEventTarget } from './util/typed-event-target.js'
export { toHex, fromHex, bytesEqual } from './util/bytes.js'
