import { afterEach, expect } from 'vitest'
import type { ConsenterOptions } from '../../src/core/consensus/consenter.js'
import { createPbftConsenter, type PbftConsenter } from '../../src/core/consensus/pbft/index.js'
import { toHex } from '../../src/core/util/bytes.js'
import { FakeNetwork, type FakeStack } from './fake-network.js'

/**
 * PBFT replicas on the fake network (a virtual clock, no sockets), as the consenter tests use
 * them: `setup` builds and starts a fully linked network, and after each test it is stopped and
 * must leave no timer behind.
 */
export const PBFT_TEST_VALIDATORS: readonly string[] = ['vp0', 'vp1', 'vp2', 'vp3']

export function usePbftFakeNetwork(validators: readonly string[] = PBFT_TEST_VALIDATORS) {
  let net: FakeNetwork | undefined
  afterEach(async () => {
    await net?.stop()
    // Nothing keeps running after stop: no timers left on the clock.
    if (net !== undefined) expect(net.clock.pending).toBe(0)
    net = undefined
  })

  /** One more replica (or a non-validator, for an ID outside `validators`) on `n`. */
  const addReplica = (n: FakeNetwork, id: string, options: ConsenterOptions = {}): PbftConsenter => {
    const consenter = createPbftConsenter(n.addPeer(id), { validators: [...validators], ...options })
    n.attach(id, consenter)
    return consenter
  }

  /** A started network of every validator, all linked. */
  const setup = async (options: ConsenterOptions = {}): Promise<FakeNetwork> => {
    net = new FakeNetwork()
    for (const id of validators) addReplica(net, id, options)
    net.connectAll()
    await net.start()
    return net
  }

  /** Like setup, plus a non-validator `followerId` running the plugin as a follower (no replica). */
  const setupWithFollower = async (options: ConsenterOptions = {}, followerId = 'nv0'): Promise<FakeNetwork> => {
    net = new FakeNetwork()
    for (const id of validators) addReplica(net, id, options)
    net.attach(followerId, createPbftConsenter(net.addPeer(followerId, 'non-validator'), { validators: [...validators] }))
    net.connectAll()
    await net.start()
    return net
  }

  /** Uses a network the test built itself (stopped and checked like one from setup). */
  const track = (n: FakeNetwork): FakeNetwork => (net = n)

  return { setup, setupWithFollower, addReplica, track }
}

export const pbftOf = (n: FakeNetwork, id: string): PbftConsenter => n.peer(id).consenter as PbftConsenter

/** A replica's chain as block hashes. */
export function chainOf(stack: FakeStack): string[] {
  return stack.ledger.getBlocks(0, stack.ledger.height()).map((b) => toHex(stack.ledger.hashBlock(b)))
}

/** Asserts every stack holds the same chain; returns its length. */
export function expectSameChains(stacks: FakeStack[]): number {
  const [first, ...rest] = stacks.map(chainOf)
  for (const chain of rest) expect(chain).toEqual(first)
  return (first as string[]).length
}
