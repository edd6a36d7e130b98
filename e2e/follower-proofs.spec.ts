/**
 * Issue #16: a tab trusts no single peer. On a closed 4-validator network (keys and a membership,
 * as `wspeer network` makes them) the tab served by vp0 loads the membership from its page's peer
 * and dials a lying relay first (`?connect=`): a Node non-validator that hands it a forged block
 * and a commit proof with a signature no validator made. The tab refuses the signature and the
 * block, then follows the real chain on f + 1 validators' signatures.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { hashBlock } from '../src/core/ledger/block-hash.js'
import { fromHex } from '../src/core/util/bytes.js'
import { MessageType } from '../src/core/wire/message-type.js'
import { makeEnvelope } from '../src/core/wire/payloads.js'
import type { Block } from '../src/core/wire/payload-types.js'
import { resolveConfig } from '../src/node/config.js'
import { silentLogger } from '../src/core/util/logger.js'
import { startNodePeer, type NodePeer } from '../src/node/index.js'
import { SpecNetwork, fetchStatusAt } from './network.js'
import { openTab, tabStatus, type Tab } from './helpers.js'

const validators = ['vp0', 'vp1', 'vp2', 'vp3']
const net = new SpecNetwork({ ids: validators, closed: true })
let relay: NodePeer | undefined

test.beforeAll(async () => {
  await net.start()
  const dataDir = mkdtempSync(join(tmpdir(), 'wspeer-e2e-relay-'))
  relay = await startNodePeer(
    resolveConfig({ argv: ['--id', 'relay', '--port', '0', '--role', 'non-validator', '--data-dir', dataDir, '--peers', net.chatUrl('vp0')], env: {} }),
    { log: silentLogger },
  )
})

test.afterAll(async () => {
  await relay?.stop()
  await net.stop()
})

const tabs: Tab[] = []
test.afterEach(async () => {
  for (const tab of tabs.splice(0)) {
    expect(tab.errors, `uncaught errors in ${tab.id}`).toEqual([])
    await tab.context.close()
  }
})

test('a tab refuses a forged block and a forged proof from a relay, and follows the chain the validators signed', async ({ browser }) => {
  const lying = relay!
  const tab = await openTab(browser, `${net.httpUrl('vp0')}/?connect=${encodeURIComponent(lying.address)}`, { linked: ['relay'] })
  tabs.push(tab)
  const before = await tabStatus(tab.page)
  expect(before.follower).toMatchObject({ verifying: true, refusedSignatures: 0, refusedBlocks: 0 })
  await expect.poll(async () => (await tabStatus(tab.page)).peers.some((p) => p.role === 'validator'), { timeout: 20_000 }).toBe(true)

  // The next block, forged: it links to the tab's head, but holds a transaction no one submitted.
  const height = before.chain.height
  const forged: Block = {
    number: height,
    previousBlockHash: fromHex(before.chain.headHash),
    stateHash: new Uint8Array(32),
    timestamp: Date.now(),
    proposer: 'vp0',
    transactions: [{ txid: 'forged-0001', payload: 'forged=1', timestamp: Date.now(), origin: 'relay' }],
  }
  const forgedHash = hashBlock(forged)
  lying.peer.unicast(makeEnvelope(MessageType.SYNC_BLOCK_ADDED, { block: forged }), tab.id)
  lying.peer.unicast(
    makeEnvelope(MessageType.SYNC_COMMIT_PROOF, { number: height, blockHash: forgedHash, signatures: [{ signer: 'vp0', signature: new Uint8Array(64).fill(7) }] }),
    tab.id,
  )
  await expect.poll(async () => (await tabStatus(tab.page)).follower?.refusedSignatures, { timeout: 10_000 }).toBe(1)
  expect((await tabStatus(tab.page)).chain.height).toBe(height)

  // A real transaction commits: the validators' signatures prove the real block, the forged one held is refused.
  const { txid } = await tab.page.evaluate(() => window.peer!.submit('real=1'))
  expect(txid).toMatch(/^[0-9a-f]+$/)
  await expect
    .poll(async () => {
      const vp0 = await fetchStatusAt(net.httpUrl('vp0'))
      const mine = await tabStatus(tab.page)
      return vp0 !== undefined && vp0.chain.height > height && mine.chain.height === vp0.chain.height && mine.chain.headHash === vp0.chain.headHash
    }, { timeout: 20_000 })
    .toBe(true)
  const after = (await tabStatus(tab.page)).follower!
  expect(after.proof!.signers.length).toBeGreaterThanOrEqual(2)
  expect(after.proof!.signers.every((s) => validators.includes(s))).toBe(true)
  expect(after.refusedBlocks).toBe(1)
  // The dashboard says it too: the proof's signers, and what was refused.
  await expect(tab.page.locator('#self-proof')).toContainText(/#\d+ signed by vp\d, vp\d · 2 refused/)
  expect(await tab.page.evaluate((h) => window.peer!.status().chain.height > h, height)).toBe(true)
})
