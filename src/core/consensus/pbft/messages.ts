/**
 * PBFT's messages, carried as the opaque payload of CONSENSUS envelopes (PROTOCOL.md 11.4): the
 * one place to import them from. What they hold and their caps are message-types.ts; writing them
 * message-encoder.ts; reading and checking untrusted bytes message-decoder.ts.
 *
 *   const bytes = encodePbftMessage({ t: 'p', v: 0, n: 1, r: 2, d })
 *   const msg = decodePbftMessage(bytes) // throws DecodeError
 */
export {
  PBFT_MAX_BUNDLE_BYTES,
  PBFT_MAX_BUNDLE_MESSAGES,
  PBFT_MAX_SET_ENTRIES,
  type SeqDigest,
  type SeqDigestView,
  type RequestMsg,
  type PrePrepareMsg,
  type PrepareMsg,
  type CommitMsg,
  type CheckpointMsg,
  type ViewChangeMsg,
  type NewViewMsg,
  type FetchBatchMsg,
  type ReturnBatchMsg,
  type ViewStatusMsg,
  type BundleMsg,
  type PbftMessage,
} from './message-types.js'
export { encodeBundle, encodePbftMessage } from './message-encoder.js'
export { decodePbftMessage } from './message-decoder.js'
