/**
 * The engine: the one loop that feeds the consenter (Fabric's engine, minus its process-wide
 * singleton: each peer creates its own). Connections enter through `openQueue`, which gives each
 * one a bounded queue in the engine's message fan; messages leave as
 * `consenter.recvMsg(envelope, sender)` calls, strictly one at a time, so a consenter never needs
 * locks. Back-pressure is Fabric's: a slow consenter stalls the loop, the per-connection queues
 * fill, and further pushes are refused with QueueFullError.
 *
 * The loop drains synchronously while messages are ready and only awaits (a promise from the fan)
 * when every queue is empty, or when recvMsg returns a promise; a synchronous consenter costs no
 * promise per message.
 *
 *   const engine = createEngine({ consenter })
 *   await engine.start()
 *   const queue = engine.openQueue({ name: peerId, maxMessages, maxBytes })
 *   queue.push({ envelope, sender: peerId, bytes: envelopeBytes(envelope) })
 *   // when the link ends: queue.close(); it leaves the fan once drained
 *   await engine.stop()
 */
import type { Consenter } from '../consensus/consenter.js'
import { QueueClosedError, describeError } from '../errors.js'
import { type Logger, silentLogger } from '../util/logger.js'
import { BoundedQueue, type BoundedQueueOptions, type QueuedMessage } from './bounded-queue.js'
import { MessageFan } from './message-fan.js'

export interface EngineOptions {
  consenter: Consenter
  /** Default: silentLogger. Consenter errors are logged at warn. */
  log?: Logger
  /** After each message the consenter finished with (errors included), with its duration. */
  onProcessed?: (msg: QueuedMessage, durationMs: number) => void
  /** After each message the consenter finished with, like onProcessed but without timing it (no clock read per message). */
  onHandled?: (msg: QueuedMessage) => void
  /** When recvMsg throws or rejects; the loop goes on. */
  onConsenterError?: (err: unknown, msg: QueuedMessage) => void
  /** Credit per queue per turn of the fan, in bytes (default DEFAULT_FAN_QUANTUM_BYTES). */
  fanQuantumBytes?: number
}

export interface Engine {
  /** Starts the consenter, then the loop. Idempotent; rejects with QueueClosedError after stop(). */
  start(): Promise<void>
  /**
   * Stops the loop (waits for the recvMsg in progress; messages still queued are dropped), closes
   * every queue, then stops the consenter if it was started. Idempotent. Must not be awaited from
   * inside recvMsg: it waits for that very call.
   */
  stop(): Promise<void>
  /** A new queue for one connection, added to the fan. Throws QueueClosedError after stop(). */
  openQueue(options: BoundedQueueOptions): BoundedQueue
  /** Messages the consenter finished with, those that threw included. */
  readonly processed: number
  /** Messages on which recvMsg threw or rejected. */
  readonly consenterErrors: number
  /** The queues currently in the fan (a snapshot). */
  readonly queues: readonly BoundedQueue[]
}

export function createEngine(options: EngineOptions): Engine {
  return new ConsensusEngine(options)
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== undefined &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

class ConsensusEngine implements Engine {
  readonly #consenter: Consenter
  readonly #log: Logger
  readonly #onProcessed: EngineOptions['onProcessed']
  readonly #onHandled: EngineOptions['onHandled']
  readonly #onConsenterError: EngineOptions['onConsenterError']
  readonly #fan: MessageFan
  #processed = 0
  #consenterErrors = 0
  #starting: Promise<void> | undefined
  #loop: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #stopRequested = false
  #consenterStarted = false

  constructor(options: EngineOptions) {
    this.#consenter = options.consenter
    this.#log = options.log ?? silentLogger
    this.#onProcessed = options.onProcessed
    this.#onHandled = options.onHandled
    this.#onConsenterError = options.onConsenterError
    this.#fan = new MessageFan(options.fanQuantumBytes === undefined ? {} : { quantumBytes: options.fanQuantumBytes })
  }

  get processed(): number {
    return this.#processed
  }

  get consenterErrors(): number {
    return this.#consenterErrors
  }

  get queues(): readonly BoundedQueue[] {
    return this.#fan.queues
  }

  start(): Promise<void> {
    if (this.#stopRequested) return Promise.reject(new QueueClosedError('engine'))
    this.#starting ??= this.#start()
    return this.#starting
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop()
    return this.#stopping
  }

  openQueue(options: BoundedQueueOptions): BoundedQueue {
    if (this.#stopRequested) throw new QueueClosedError('engine')
    const queue = new BoundedQueue(options)
    this.#fan.add(queue)
    return queue
  }

  async #start(): Promise<void> {
    await this.#consenter.start()
    this.#consenterStarted = true
    // A stop() that came in meanwhile waits for this promise and then stops the consenter.
    if (this.#stopRequested) return
    this.#loop = this.#run().catch((err: unknown) => {
      this.#log.error('engine loop failed', { error: describeError(err) })
    })
  }

  async #stop(): Promise<void> {
    this.#stopRequested = true
    // Queues first: from now on senders hear QueueClosedError instead of being silently dropped.
    for (const queue of this.#fan.queues) queue.close()
    // A loop waiting for messages wakes up with undefined; one inside recvMsg exits after it.
    this.#fan.close()
    if (this.#starting !== undefined) await this.#starting.catch(() => {})
    if (this.#loop !== undefined) await this.#loop
    if (this.#consenterStarted) await this.#consenter.stop()
  }

  async #run(): Promise<void> {
    const fan = this.#fan
    const consenter = this.#consenter
    const onProcessed = this.#onProcessed
    const onHandled = this.#onHandled
    for (;;) {
      let msg = fan.poll()
      if (msg === undefined) {
        msg = await fan.next()
        // A message handed over just before stop() is dropped like the rest still queued: no
        // recvMsg starts after stop() was called.
        if (msg === undefined || this.#stopRequested) return
      }
      // Timing costs a call per message; only pay it when someone listens.
      const started = onProcessed === undefined ? 0 : globalThis.performance.now()
      try {
        const result = consenter.recvMsg(msg.envelope, msg.sender)
        if (isPromiseLike(result)) await result
      } catch (err) {
        this.#consenterFailed(err, msg)
      }
      this.#processed++
      if (onHandled !== undefined) {
        try {
          onHandled(msg)
        } catch (err) {
          this.#log.error('engine onHandled hook threw', { error: describeError(err) })
        }
      }
      if (onProcessed !== undefined) {
        try {
          onProcessed(msg, globalThis.performance.now() - started)
        } catch (err) {
          this.#log.error('engine onProcessed hook threw', { error: describeError(err) })
        }
      }
      if (this.#stopRequested) return
    }
  }

  #consenterFailed(err: unknown, msg: QueuedMessage): void {
    this.#consenterErrors++
    this.#log.warn('consenter failed on a message', {
      consenter: this.#consenter.name,
      sender: msg.sender,
      type: msg.envelope.type,
      error: describeError(err),
    })
    if (this.#onConsenterError === undefined) return
    try {
      this.#onConsenterError(err, msg)
    } catch (hookErr) {
      this.#log.error('engine onConsenterError hook threw', { error: describeError(hookErr) })
    }
  }
}
