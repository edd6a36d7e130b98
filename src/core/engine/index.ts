/**
 * The engine layer. In: each connection's CONSENSUS envelopes, pushed into the bounded queue that
 * `engine.openQueue` gave the link (QueueFullError when it is full, QueueClosedError once closed).
 * Out: `consenter.recvMsg(envelope, sender)`, one call at a time, the queues taking turns in the
 * message fan (round robin weighted by bytes).
 */
export {
  BoundedQueue,
  envelopeBytes,
  type BoundedQueueOptions,
  type QueuedMessage,
} from './bounded-queue.js'
export { MessageFan } from './message-fan.js'
export { createEngine, type Engine, type EngineOptions } from './engine.js'
