import { createMemoryChatPair } from '../../src/core/chat/memory-chat-stream.js'
import { Link } from '../../src/core/handlers/link.js'
import type { PeerEndpoint } from '../../src/core/wire/payload-types.js'

/**
 * A Link as the peer's parts see one after its handshake: `remote` set, dialed by this peer when
 * `dialedAddress` is given. Its stream is one end of an in-memory pair nobody reads, for unit tests
 * of the parts that take links (discovery, block sync) without a peer around them.
 */
export function linkTo(remote: PeerEndpoint, dialedAddress?: string): Link {
  const [stream] = createMemoryChatPair({ a: remote.address })
  const link = new Link({
    stream,
    initiated: dialedAddress !== undefined,
    ...(dialedAddress === undefined ? {} : { dialedAddress }),
    now: 0,
    outbox: { maxFrameBytes: 1 << 20, maxEnvelopesPerFrame: 256, targetFrameBytes: 1 << 18, sendBufferCapBytes: 1 << 23 },
  })
  link.remote = remote
  return link
}
