/**
 * Where a consenter keeps its promises: what it must never contradict after a restart (PBFT: its
 * view, its stable checkpoint, and the messages it sent in the current window). A write-ahead log
 * in the sense of Fabric v0.6's persisted PBFT state and CometBFT's WAL: a record is appended and
 * made durable before the message it stands for is sent, so a replica that crashes and restarts
 * finds every promise it made and keeps it.
 *
 * Records are opaque bytes to the log. The log is cut into segments, each opened by `rotate` with
 * a label (PBFT: the stable checkpoint) and a snapshot of the small state that must outlive the
 * segments dropped (PBFT: view change, new view, stable checkpoint); segments labelled below
 * `dropBelow` are deleted once the new one is durable. So the log keeps about one window of
 * records, never the whole history, and compaction writes only the snapshot, never the window.
 *
 * Implementations: memory-consensus-log.ts (tests, the simulator), node/file-consensus-log.ts
 * (append-only files under `<data-dir>/consensus`).
 *
 *   const log = createMemoryConsensusLog()
 *   log.append([record], () => send(message))   // sent only once the record is durable
 */

export interface ConsensusLog {
  /** The records found when the log was opened, oldest first (every kept segment, in label order). */
  readonly loaded: readonly Uint8Array[]
  /** The label of the newest segment found when the log was opened (0 when there was none). */
  readonly loadedLabel: number
  /**
   * Appends records to the newest segment. `durable` runs once they, and everything appended
   * before them, are as safe as the log's policy makes them (never before they are handed to the
   * operating system), in append order. After `close` or a failed write it never runs: a promise
   * that might not be kept must not be sent.
   */
  append(records: readonly Uint8Array[], durable: () => void): void
  /**
   * Starts a new segment labelled `label` that opens with `snapshot`, and deletes every segment
   * labelled below `dropBelow` once the new one is durable. Labels only grow.
   */
  rotate(label: number, snapshot: readonly Uint8Array[], dropBelow: number): void
  /** Writes what is pending and releases the log; appends after it are refused (their `durable` never runs). */
  close(): Promise<void>
}
