/**
 * A ReplicaCore on a stand-in Stack, for testing one part of a replica alone: the other parts are
 * recording stubs of their interfaces (replica-core.ts), so a test sees exactly what its part asks
 * of them.
 */
import { vi } from 'vitest'
import type { Stack } from '../../src/core/consensus/consenter.js'
import { createMemoryConsensusLog, type MemoryConsensusLog } from '../../src/core/consensus/memory-consensus-log.js'
import { resolvePbftConfig, type PbftConfig } from '../../src/core/consensus/pbft/config.js'
import { decodePbftMessage, type PbftMessage } from '../../src/core/consensus/pbft/messages.js'
import { ReplicaCore, type CheckpointsPart, type NormalCasePart, type StateTransferPart, type ViewChangesPart } from '../../src/core/consensus/pbft/replica-core.js'
import { createMemoryLedger } from '../../src/core/ledger/memory-ledger.js'
import { ManualClock } from '../../src/core/util/clock.js'
import type { Logger } from '../../src/core/util/logger.js'
import type { Envelope } from '../../src/core/wire/envelope.js'

export const VALIDATORS = ['vp0', 'vp1', 'vp2', 'vp3'] as const

export interface PartBench {
  core: ReplicaCore
  clock: ManualClock
  consensusLog: MemoryConsensusLog
  /** Every PBFT message sent, with where to ('all' or a peer ID). */
  sent: { to: string; msg: PbftMessage }[]
  /** Every log line, as "level message". */
  logged: string[]
  normal: { [K in keyof NormalCasePart]: ReturnType<typeof vi.fn> }
  transfer: { start: ReturnType<typeof vi.fn>; probeLag: ReturnType<typeof vi.fn>; transferring: boolean }
  views: { [K in keyof ViewChangesPart]: ReturnType<typeof vi.fn> }
  checkpoints: { [K in keyof CheckpointsPart]: ReturnType<typeof vi.fn> }
}

/** Replica `self` of four (f = 1), with `options` over PBFT's defaults and stubs for every part. */
export function partBench(self: number, options: Partial<PbftConfig> = {}): PartBench {
  const clock = new ManualClock()
  const sent: PartBench['sent'] = []
  const logged: string[] = []
  const log: Logger = {
    debug: (msg) => logged.push(`debug ${msg}`),
    info: (msg) => logged.push(`info ${msg}`),
    warn: (msg) => logged.push(`warn ${msg}`),
    error: (msg) => logged.push(`error ${msg}`),
    child: () => log,
  }
  const record = (to: string, envelope: Envelope): void => {
    const msg = decodePbftMessage(envelope.payload)
    for (const m of msg.t === 'm' ? msg.m : [msg]) sent.push({ to, msg: m })
  }
  const consensusLog = createMemoryConsensusLog()
  const stack = {
    clock,
    log,
    ledger: createMemoryLedger(),
    consensusLog,
    broadcast: (envelope: Envelope) => {
      record('all', envelope)
      return VALIDATORS.length - 1
    },
    unicast: (envelope: Envelope, peerId: string) => record(peerId, envelope),
    getNetworkHandles: () => [],
    sync: { peerHeights: () => new Map<string, number>(), fetchBlocks: () => Promise.resolve([]) },
  } as unknown as Stack
  const { config } = resolvePbftConfig({ validators: [...VALIDATORS], ...options })
  const core = new ReplicaCore(stack, config, self)
  const stubs = <T extends object>(names: readonly (keyof T)[]) => Object.fromEntries(names.map((n) => [n, vi.fn()])) as { [K in keyof T]: ReturnType<typeof vi.fn> }
  const normal = stubs<NormalCasePart>(['onPrePrepare', 'onPrepare', 'onCommit', 'follow', 'onBatch', 'check', 'execute', 'tryCut', 'forget', 'afterProgress', 'forgetBelow', 'oldestOutstanding', 'startTimers', 'viewChangeStarted', 'newViewInstalled'])
  normal.oldestOutstanding.mockImplementation(() => [...core.outstanding.values()])
  const views = stubs<ViewChangesPart>(['onViewChange', 'onViewStatus', 'onNewView', 'holdForNewView', 'sawView', 'sendViewChange', 'tryNewView', 'announceView', 'snapshot', 'restore', 'resumeAfterRestore'])
  views.snapshot.mockReturnValue([])
  const checkpoints = stubs<CheckpointsPart>(['onCheckpoint', 'moveWatermarks', 'helpLagging'])
  const transfer = { start: vi.fn(), probeLag: vi.fn(), transferring: false }
  core.normal = normal as unknown as NormalCasePart
  core.views = views as unknown as ViewChangesPart
  core.checkpoints = checkpoints as unknown as CheckpointsPart
  core.transfer = transfer as StateTransferPart
  return { core, clock, consensusLog, sent, logged, normal, transfer, views, checkpoints }
}
