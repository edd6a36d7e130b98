/**
 * wspeer's Node entry (`import ... from 'wspeer'` under Node, or 'wspeer/node'): the whole core
 * plus what only Node can do: listen for chats and HTTP on one port, dial with `ws`, log JSON
 * lines, read configuration from flags, environment and a file.
 *
 *   const config = resolveConfig({ argv: process.argv.slice(2), env: process.env })
 *   const node = await startNodePeer(config)
 *   console.log(node.address)   // ws://127.0.0.1:7051/chat
 *   await node.stop()
 */
import { ConfigError, UnknownConsenterError, WspeerError, describeError } from '../core/errors.js'
import { consenterNames } from '../core/consensus/registry.js'
import { createPeer } from '../core/peer/peer.js'
import type { Peer } from '../core/peer/peer-types.js'
import type { Logger } from '../core/util/logger.js'
import { defaultChatAddress } from './config.js'
import type { PeerNodeConfig } from './config.js'
import { createNodeLogger } from './logger.js'
import { createPeerServer } from './server.js'
import { openNodeLedger } from './level-ledger.js'
import { CONSENSUS_LOG_DIR_NAME, openFileConsensusLog, type FileConsensusLog } from './file-consensus-log.js'
import { networkLabel } from '../core/ledger/network-label.js'
import type { PeerServer } from './server.js'
import { createNodeConnector } from './ws-connector.js'
import { installNativeSha256 } from './native-hash.js'
import { installNativeUtf8 } from './native-utf8.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { KeyPair } from '../core/identity/key-pair.js'
import { parseMembership, type Membership } from '../core/identity/membership.js'
import { loadOrCreateKey } from './key-store.js'
import { localChatAddresses } from './local-addresses.js'

// The core's public API, name for name (src/core/index.ts says how the list is kept;
// test/public-api.test.ts checks this entry exports all of it).
export {
  AbortError,
  CloseCode,
  ConfigError,
  DecodeError,
  DuplicateHelloError,
  DuplicateLinkError,
  FrameTooLargeError,
  HandlerStateError,
  HandshakeError,
  HandshakeTimeoutError,
  KeyError,
  LedgerError,
  LedgerStoreError,
  LimitExceededError,
  MessageTooLargeError,
  SnapshotTooLargeError,
  DEFAULT_MAX_BLOCK_BYTES,
  blockWireBytesMost,
  transactionBytes,
  NotAMemberError,
  PeerNotFoundError,
  QueueClosedError,
  QueueFullError,
  SendBufferFullError,
  StreamClosedError,
  TextFrameError,
  TimeoutError,
  TransportError,
  UnknownConsenterError,
  UnknownTypeError,
  WspeerError,
  describeError,
  type HandshakeFailure,
  MessageType,
  isKnownMessageType,
  messageTypeName,
  type MessageTypeName,
  type Envelope,
  EndpointType,
  ResponseStatus,
  type Block,
  type BlockAddedPayload,
  type BlockchainInfo,
  type BlocksPayload,
  type DeltasPayload,
  type DisconnectPayload,
  type GetBlocksPayload,
  type GetDeltasPayload,
  type GetSnapshotPayload,
  type HelloPayload,
  type KeepalivePayload,
  type PeerEndpoint,
  type PeerRole,
  type PeersPayload,
  type ResponsePayload,
  type SnapshotPayload,
  type StateDelta,
  type Transaction,
  FRAME_HEADER_MAX_BYTES,
  decodeFrame,
  encodeFrame,
  envelopeWireSize,
  decodePayload,
  encodePayload,
  makeEnvelope,
  makeResponse,
  type PayloadMap,
  type PayloadType,
  DEFAULT_CODEC_LIMITS,
  DEFAULT_MAX_CONTAINERS,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_SIGNATURE_BYTES,
  MAX_ADDRESS_BYTES,
  MAX_BLOCKS_PER_MESSAGE,
  MAX_DELTAS_PER_MESSAGE,
  MAX_ERROR_CODE_BYTES,
  MAX_HASH_BYTES,
  MAX_ID_BYTES,
  MAX_MSG_BYTES,
  MAX_PEERS_PER_MESSAGE,
  MAX_PKI_ID_BYTES,
  MAX_STATE_ENTRIES,
  MAX_STATE_KEY_BYTES,
  MAX_STATE_VALUE_BYTES,
  MAX_TXS_PER_BLOCK,
  MAX_TX_PAYLOAD_BYTES,
  resolveCodecLimits,
  type CodecLimits,
  CLEAN_CLOSE_CODES,
  type ChatStream,
  type ChatStreamEnd,
  createMemoryChatPair,
  type MemoryChatStream,
  createWebSocketChatStream,
  openWebSocketChat,
  DEFAULT_MAX_INBOUND_BUFFERED_BYTES,
  type WebSocketLike,
  type WebSocketChatStreamOptions,
  type OpenWebSocketChatOptions,
  createPeer,
  DEFAULT_CONSENSUS_PLUGIN,
  MAX_PEER_ID_LENGTH,
  MAX_TRANSACTION_PAYLOAD_BYTES,
  normalizeChatAddress,
  type ChatConnector,
  type IdentityStatus,
  type MetricsSnapshot,
  type Peer,
  type PeerConfig,
  type PeerEvents,
  type PeerIdentityConfig,
  type PeerStatus,
  type FollowerStatus,
  type QueueStatus,
  DEFAULT_PEER_LIMITS,
  resolvePeerLimits,
  type PeerLimits,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_DISCOVERY_PERIOD_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_KEEPALIVE_TIMEOUT_MS,
  DEFAULT_LOCAL_QUEUE_MAX_MESSAGES,
  DEFAULT_MAX_BLOCKS_PER_SYNC,
  DEFAULT_MAX_SYNC_ANSWER_BYTES,
  SYNC_ANSWER_HEADROOM_BYTES,
  DEFAULT_MAX_DECODE_ERRORS,
  DEFAULT_MAX_DIALS_IN_FLIGHT,
  DEFAULT_MAX_ENVELOPES_PER_FRAME,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_INBOUND_PEERS,
  DEFAULT_MAX_KNOWN_ADDRESSES,
  DEFAULT_MAX_OUTBOUND_PEERS,
  DEFAULT_MAX_FOLLOWER_LINKS,
  DEFAULT_MAX_PEERS,
  DEFAULT_MAX_PEERS_LIST,
  DEFAULT_QUEUE_MAX_BYTES,
  DEFAULT_QUEUE_MAX_MESSAGES,
  DEFAULT_REDIAL_BASE_MS,
  DEFAULT_REDIAL_MAX_MS,
  DEFAULT_SEND_BUFFER_CAP_BYTES,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_COMMIT_PROOF_EVERY_BLOCKS,
  DEFAULT_COMMIT_PROOF_PERIOD_MS,
  DEFAULT_COMMIT_PROOF_IDLE_MS,
  DEFAULT_MAX_UNPROVEN_BLOCKS,
  DEFAULT_PROOF_SIGNATURES_PER_SIGNER,
  DEFAULT_MAX_PROOFS_VERIFYING,
  PROOFS_VERIFYING_PER_MEMBER,
  DEFAULT_FOLLOWER_BACKLOG_BYTES,
  DEFAULT_TARGET_FRAME_BYTES,
  type BroadcastTarget,
  type Consenter,
  type ConsenterFactory,
  type ConsenterOptions,
  type NetworkInfo,
  type PeerInfo,
  type Stack,
  type SyncHooks,
  type ConsensusLog,
  createMemoryConsensusLog,
  type MemoryConsensusLog,
  type MemoryConsensusLogOptions,
  type MemorySegment,
  builtinConsenters,
  consenterNames,
  createConsenter,
  registerConsenter,
  NOOPS_PLUGIN_NAME,
  createNoopsConsenter,
  type NoopsConsenter,
  type NoopsStatus,
  DEFAULT_NOOPS_OPTIONS,
  resolveNoopsOptions,
  type NoopsOptions,
  DEFAULT_NOOPS_BLOCK_MAX_BYTES,
  DEFAULT_NOOPS_BLOCK_SIZE,
  DEFAULT_NOOPS_BLOCK_WAIT_MS,
  DEFAULT_NOOPS_MAX_PENDING,
  DEFAULT_NOOPS_RETRY_MS,
  NOOPS_CLAIM_RETRY_MAX_FACTOR,
  NOOPS_MAX_FORWARD_HOPS,
  NOOPS_PROBE_BLOCKS,
  PBFT_PLUGIN_NAME,
  createPbftConsenter,
  type PbftConsenter,
  type PbftStatus,
  DEFAULT_PBFT_OPTIONS,
  resolvePbftConfig,
  type PbftConfig,
  DEFAULT_PBFT_BATCH_SIZE,
  DEFAULT_PBFT_BATCH_MAX_BYTES,
  PBFT_MIN_BATCH_MAX_BYTES,
  DEFAULT_PBFT_BATCH_TIMEOUT_MS,
  DEFAULT_PBFT_K,
  DEFAULT_PBFT_LOG_MULTIPLIER,
  DEFAULT_PBFT_MAX_OUTSTANDING,
  DEFAULT_PBFT_NULL_REQUEST_MS,
  DEFAULT_PBFT_REQUEST_TIMEOUT_MS,
  DEFAULT_PBFT_RESEND_VIEW_CHANGE_MS,
  DEFAULT_PBFT_VIEW_CHANGE_TIMEOUT_MS,
  PBFT_MAX_BUNDLE_BYTES,
  PBFT_MAX_BUNDLE_MESSAGES,
  PBFT_MAX_EARLY_MESSAGES,
  PBFT_MAX_FETCHES_PER_PEER,
  PBFT_MAX_REPLICAS,
  PBFT_MAX_SET_ENTRIES,
  PBFT_MAX_VIEW_CHANGE_BACKOFF,
  type Ledger,
  createMemoryLedger,
  type MemoryLedgerOptions,
  BLOCK_STORE_CHUNK_BYTES,
  BLOCK_STORE_HASHES_PER_CHUNK,
  createBlockStore,
  type BlockStore,
  type BlockStoreOptions,
  HASH_BYTES,
  genesisBlock,
  hashBlock,
  useSha256,
  type Sha256Hasher,
  MAX_STATE_KEY_LENGTH,
  OPAQUE_KEY_PREFIX,
  DEFAULT_FSYNC_CHECKPOINT_BLOCKS,
  DEFAULT_FSYNC_POLICY,
  FSYNC_POLICIES,
  LEDGER_STORE_FORMAT,
  TXID_FILTER_BYTES,
  TXID_GENERATION_SIZE,
  STATE_GENERATION_SIZE,
  type CommittedTxidsOptions,
  type TxidIndex,
  type KeyBlockIndex,
  type KeyBlockEntries,
  openLedgerStore,
  type FsyncPolicy,
  type LedgerStore,
  type LedgerStoreOptions,
  type LedgerStoreStats,
  type LevelDatabase,
  type LevelOperation,
  type PendingStore,
  PUBLIC_KEY_BYTES,
  SEED_BYTES,
  SIGNATURE_BYTES,
  type Ed25519BackendName,
  KEY_ID_BYTES,
  formatKeyId,
  keyIdHex,
  keyIdOf,
  parseKeyId,
  exportPublicKey,
  generateKeyPair,
  importPublicKey,
  keyPairFromCryptoKeys,
  keyPairFromSeed,
  verifySignature,
  type KeyPair,
  type KeyPairOptions,
  MAX_MEMBERS,
  MAX_MEMBERSHIP_FILE_CHARS,
  decodePublicKeyText,
  formatMembership,
  parseMembership,
  validateMembership,
  type Member,
  type Membership,
  systemClock,
  ManualClock,
  type Clock,
  type TimerHandle,
  silentLogger,
  createConsoleLogger,
  type Logger,
  type LogLevel,
  type LogFields,
  TypedEventTarget,
  toHex,
  fromHex,
  bytesEqual,
} from '../core/index.js'
export {
  resolveConfig,
  defaultChatAddress,
  flagName,
  envName,
  configFlags,
  DEFAULT_PEER_ID,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_ROLE,
  DEFAULT_CONSENSUS,
  ENV_PREFIX,
  CONFIG_ENV,
  type PeerNodeConfig,
  type ConfigSources,
} from './config.js'
export { createNodeLogger, isLogLevel, DEFAULT_LOG_LEVEL, type NodeLoggerOptions } from './logger.js'
export { renderPrometheus, escapeLabelValue, PROMETHEUS_CONTENT_TYPE } from './metrics.js'
export { createHttpApi, MAX_TX_BODY_BYTES, MAX_DISCARDED_BODY_BYTES, BODY_LINGER_MS, RETRY_AFTER_SECONDS, type HttpApiOptions } from './http-api.js'
export {
  createPeerServer,
  CHAT_PATH,
  HTTP_HEADERS_TIMEOUT_MS,
  HTTP_REQUEST_TIMEOUT_MS,
  HTTP_CONNECTIONS_CHECK_INTERVAL_MS,
  STOP_GRACE_MS,
  type PeerServer,
  type PeerServerOptions,
} from './server.js'
export { createNodeConnector } from './ws-connector.js'
export { installNativeSha256 } from './native-hash.js'
export { installNativeUtf8 } from './native-utf8.js'
export { loadOrCreateKey, keygen, keyFilePath, KEY_FILE_NAME, type LoadedKey, type KeygenResult } from './key-store.js'
export {
  CONSENSUS_LOG_DIR_NAME,
  ConsensusLogError,
  openFileConsensusLog,
  type FileConsensusLog,
  type FileConsensusLogOptions,
} from './file-consensus-log.js'
export { localChatAddresses } from './local-addresses.js'
export { defaultDataDir, defaultDataRoot } from './config.js'

export interface NodePeer {
  peer: Peer
  server: PeerServer
  /** The chat URL this peer announces. */
  address: string
  /** The bound port (the real one when the config said 0). */
  port: number
  /** Stops the peer (links closed with 1001), then the server. Idempotent. */
  stop(): Promise<void>
}

/**
 * A Peer that forwards to one bound later. The server must exist before it listens and the peer
 * needs the listening port for its address (port 0); nothing can reach the server between
 * `listening` and `bind`, but until then calls fail with ERR_NOT_READY (HTTP 503) rather than
 * crash.
 */
function latePeer(id: string, role: Peer['role']): { peer: Peer; bind(target: Peer): void } {
  let target: Peer | undefined
  const get = (): Peer => {
    if (target === undefined) throw new WspeerError('ERR_NOT_READY', 'the peer is starting')
    return target
  }
  const peer: Peer = {
    id,
    role,
    get membership() {
      return target?.membership
    },
    start: (options) => get().start(options),
    stop: () => get().stop(),
    chatWithPeer: (address, options) => get().chatWithPeer(address, options),
    acceptStream: async (stream, options) => get().acceptStream(stream, options),
    submit: async (payload, options) => get().submit(payload, options),
    transactionStatus: (txid) => get().transactionStatus(txid),
    chainInfo: () => get().chainInfo(),
    block: (number) => get().block(number),
    state: (key) => get().state(key),
    broadcast: (msg, to) => get().broadcast(msg, to),
    unicast: (msg, peerId) => get().unicast(msg, peerId),
    status: () => get().status(),
    metrics: () => get().metrics(),
    on: (type, listener) => get().on(type, listener),
  }
  return {
    peer,
    bind: (t) => {
      target = t
    },
  }
}

/**
 * Wires a peer, its server, a `ws` connector and a logger from a resolved config, and starts them.
 * Rejects (with the server already stopped) when the port is taken or the consenter is unknown.
 */
// The Node entry hashes with OpenSSL and writes UTF-8 at offsets without views; every hash,
// byte and string is the same as the portable code's.
installNativeSha256()
installNativeUtf8()

/** Reads a file named by the config, as a ConfigError that says which setting named it. */
async function readConfigured(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${describeError(err)}`)
  }
}

export interface StartNodePeerOptions {
  log?: Logger
  /** The peer's key; else the one in `config.dataDir` (created on first start); else a fresh in-memory key. */
  keyPair?: KeyPair
}

export async function startNodePeer(config: PeerNodeConfig, options: StartNodePeerOptions = {}): Promise<NodePeer> {
  // Checked before the server listens, so `--consensus raft` fails with its one clear line and no
  // `listening` before it.
  if (!consenterNames().includes(config.consensus.trim().toLowerCase())) throw new UnknownConsenterError(config.consensus, consenterNames())
  const log = options.log ?? createNodeLogger({ level: config.logLevel })
  const keyPair = options.keyPair ?? (config.dataDir === undefined ? undefined : (await loadOrCreateKey(config.dataDir)).keyPair)
  let membership: Membership | undefined
  if (config.membership !== undefined) membership = parseMembership(await readConfigured(config.membership, 'membership file'), config.membership)
  const tls =
    config.tlsCert === undefined || config.tlsKey === undefined
      ? undefined
      : { cert: await readConfigured(config.tlsCert, 'TLS certificate'), key: await readConfigured(config.tlsKey, 'TLS key') }
  const ca = config.tlsCa === undefined ? undefined : await readConfigured(config.tlsCa, 'TLS CA file')
  // The chain is loaded before anything listens: a corrupt or foreign store fails the start with
  // its one clear line, and the peer announces its real height in its first HELLO.
  const durable =
    config.ledger === 'level' && config.dataDir !== undefined
      ? await openNodeLedger({ dataDir: config.dataDir, network: networkLabel(config.consensus, config.consensusOptions), fsync: config.fsync, log })
      : undefined
  // Beside the ledger, with its fsync policy: what the consenter promised (PBFT's votes), written
  // before each message it sends (file-consensus-log.ts).
  let consensusLog: FileConsensusLog | undefined
  if (durable !== undefined && config.dataDir !== undefined) {
    try {
      consensusLog = await openFileConsensusLog({ dir: join(config.dataDir, CONSENSUS_LOG_DIR_NAME), fsync: config.fsync, log })
    } catch (err) {
      await durable.store.close()
      throw err
    }
  }
  const closeDurable = async (): Promise<void> => {
    try {
      await consensusLog?.close()
    } finally {
      await durable?.store.close()
    }
  }
  const late = latePeer(config.id, config.role)
  const server = createPeerServer({
    ...(tls === undefined ? {} : { tls }),
    peer: late.peer,
    host: config.host,
    port: config.port,
    limits: config.limits,
    log: log.child({ peer: config.id }),
    connectionLimits: {
      maxPendingConnections: config.maxPendingConnections,
      maxConnectionsPerSecond: config.maxConnectionsPerSecond,
      maxPendingConnectionsPerAddress: config.maxPendingConnectionsPerAddress,
    },
    ...(config.staticDir === undefined ? {} : { staticDir: config.staticDir }),
  })
  let port: number
  try {
    ;({ port } = await server.start())
  } catch (err) {
    await closeDurable()
    throw err
  }
  // With port 0 the default address could only be known now.
  const secure = tls !== undefined
  const address =
    config.port === 0 && config.address === defaultChatAddress(config.host, 0, secure) ? defaultChatAddress(config.host, port, secure) : config.address
  let peer: Peer
  try {
    peer = createPeer({
      id: config.id,
      role: config.role,
      address,
      consensus: config.consensus,
      consensusOptions: config.consensusOptions,
      bootstrap: config.peers,
      limits: config.limits,
      connect: createNodeConnector(config.limits, ca === undefined ? {} : { ca }),
      identity: {
        ...(keyPair === undefined ? {} : { keyPair }),
        ...(membership === undefined ? {} : { membership }),
        aliases: localChatAddresses(config.host, port, secure, config.aliases),
      },
      log,
      ...(durable === undefined ? {} : { ledger: durable.ledger, pending: durable.store }),
      ...(consensusLog === undefined ? {} : { consensusLog }),
    })
    late.bind(peer)
    await peer.start()
  } catch (err) {
    await server.stop()
    await closeDurable()
    throw err
  }
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      try {
        await peer.stop()
      } finally {
        try {
          await server.stop()
        } finally {
          // Last: what the peer committed while stopping is written before the store closes.
          await closeDurable()
        }
      }
    })()
    return stopped
  }
  return { peer, server, address, port, stop }
}
