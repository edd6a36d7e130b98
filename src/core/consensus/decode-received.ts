/**
 * How a consenter reads what it was handed: decode, or log why not and return undefined. A
 * consenter counts and skips what it cannot read instead of throwing, since the engine would only
 * report the error again and the sender was already answered by the handlers in front of it.
 *
 * In: a decoder and the bytes. Out: the decoded value, or undefined (logged at `level`).
 */
import { describeError } from '../errors.js'
import type { Logger } from '../util/logger.js'
import { MessageType } from '../wire/message-type.js'
import type { Transaction } from '../wire/payload-types.js'
import { decodePayload } from '../wire/payloads.js'

// Positional, not an options object: it runs once per consensus message, and allocates nothing.
export function decodeReceived<T>(
  decode: (bytes: Uint8Array) => T,
  bytes: Uint8Array,
  log: Logger,
  what: string,
  sender: string,
  level: 'warn' | 'debug' = 'warn',
): T | undefined {
  try {
    return decode(bytes)
  } catch (err) {
    log[level](`undecodable ${what} ignored`, { sender, error: describeError(err) })
    return undefined
  }
}

/** The CHAIN_TRANSACTION decoder, for decodeReceived. */
export const decodeTransaction = (bytes: Uint8Array): Transaction => decodePayload(MessageType.CHAIN_TRANSACTION, bytes)
