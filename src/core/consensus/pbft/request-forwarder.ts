/**
 * How client requests a backup accepted reach the primary. Requests submitted within one tick
 * leave together in one `req` message (or as soon as a batch's worth waits). A forward goes to the
 * primary alone: backups learn requests from its pre-prepare, and the request timer re-broadcasts
 * to every replica what waits too long. While no view is active (a view change), requests go to
 * every replica, because the primary that will order them may be any of them. A forward that finds
 * no link to the primary is kept and tried again every forwardRetryMs, to whoever is primary then,
 * for as long as the replica still waits for the request: it is never dropped, because its client
 * was told 202.
 *
 *   const forwarder = new RequestForwarder({ outbound, timers, log, ... })
 *   forwarder.add(tx)          // one message per tick
 *   forwarder.sendAll(waiting) // in messages of at most batchSize requests
 */
import type { Logger } from '../../util/logger.js'
import type { Transaction } from '../../wire/payload-types.js'
import type { PbftOutbound } from './outbound.js'
import type { ReplicaTimers } from './replica-timers.js'

export interface RequestForwarderContext {
  outbound: PbftOutbound
  timers: ReplicaTimers
  log: Logger
  validators: readonly string[]
  self: number
  batchSize: number
  forwardRetryMs: number
  /** The primary of the active view, or undefined while a view change runs. */
  primary(): number | undefined
  /** Whether the replica still waits for this request (not executed yet). */
  waitsFor(txid: string): boolean
}

export class RequestForwarder {
  readonly #ctx: RequestForwarderContext
  /** Requests submitted this tick, sent together. */
  #buffer: Transaction[] = []
  /** Requests whose forward found no link to the primary, retried every forwardRetryMs. */
  readonly #unsent = new Map<string, Transaction>()
  /** Logged once per stretch without a link to the primary. */
  #unsentLogged = false

  constructor(ctx: RequestForwarderContext) {
    this.#ctx = ctx
  }

  /** Requests waiting for a link to the primary. */
  get unsent(): number {
    return this.#unsent.size
  }

  /** Forwards a request with the others submitted this tick. */
  add(tx: Transaction): void {
    this.#buffer.push(tx)
    if (this.#buffer.length >= this.#ctx.batchSize) this.flush()
    else if (!this.#ctx.timers.armed('forward')) this.#ctx.timers.start('forward', () => this.flush(), 0)
  }

  /** Sends what add() gathered. */
  flush(): void {
    this.#ctx.timers.clear('forward')
    if (this.#buffer.length === 0) return
    const x = this.#buffer
    this.#buffer = []
    this.send(x)
  }

  /** Sends requests in messages of at most batchSize. */
  sendAll(txs: Iterable<Transaction>): void {
    let x: Transaction[] = []
    for (const tx of txs) {
      x.push(tx)
      if (x.length >= this.#ctx.batchSize) {
        this.send(x)
        x = []
      }
    }
    if (x.length > 0) this.send(x)
  }

  /** Sends one `req` message: to the primary, or to every replica during a view change. */
  send(x: Transaction[]): void {
    const primary = this.#ctx.primary()
    if (primary === undefined) this.#ctx.outbound.broadcast({ t: 'req', x })
    else if (primary !== this.#ctx.self && !this.#ctx.outbound.unicast({ t: 'req', x }, primary)) this.#keepUnsent(x, primary)
  }

  #keepUnsent(x: readonly Transaction[], primary: number): void {
    if (!this.#unsentLogged) this.#ctx.log.info('pbft forward waits for a link to the primary', { primary: this.#ctx.validators[primary], requests: x.length })
    this.#unsentLogged = true
    for (let i = 0; i < x.length; i++) this.#unsent.set(x[i]!.txid, x[i]!)
    if (this.#ctx.timers.armed('unsent')) return
    this.#ctx.timers.start('unsent', () => {
      // Taken out first: what fails again is kept anew.
      const pending = [...this.#unsent.values()].filter((tx) => this.#ctx.waitsFor(tx.txid))
      this.#unsent.clear()
      this.sendAll(pending)
      if (this.#unsent.size === 0) this.#unsentLogged = false
    }, this.#ctx.forwardRetryMs)
  }
}
