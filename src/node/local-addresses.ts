/**
 * The chat URLs a Node peer answers to. The authenticated handshake refuses a dialer whose
 * `dialedAddress` is not one of the acceptor's own URLs (that is what defeats a relay), so a peer
 * bound to loopback must also accept `ws://localhost:7051/chat` when it announces
 * `ws://127.0.0.1:7051/chat`, and a peer bound to every interface must accept each interface's
 * address. Names the operator configures (a proxy, a DNS name) come in as `aliases`.
 *
 * In: the bind host, the bound port, whether TLS is on, the configured aliases. Out: URLs, not
 * normalized (the core normalizes them).
 */
import { networkInterfaces } from 'node:os'
import { defaultChatAddress } from './config.js'

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '::1']
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]'])

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/** Every address a dialer on this machine or its networks could put in a URL to reach host:port. */
export function localChatAddresses(host: string, port: number, tls: boolean, aliases: readonly string[] = []): string[] {
  const hosts = new Set<string>([host])
  if (isLoopback(host) || WILDCARD_HOSTS.has(host)) for (const name of LOOPBACK_NAMES) hosts.add(name)
  if (WILDCARD_HOSTS.has(host)) {
    for (const list of Object.values(networkInterfaces())) {
      // Link-local IPv6 needs a zone id (fe80::1%eth0), which a ws:// URL cannot carry.
      for (const entry of list ?? []) if (!entry.address.includes('%') && !entry.address.toLowerCase().startsWith('fe80:')) hosts.add(entry.address)
    }
  }
  return [...[...hosts].map((h) => defaultChatAddress(h, port, tls)), ...aliases]
}
