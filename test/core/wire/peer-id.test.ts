import { describe, expect, it } from 'vitest'
import { parseMembership } from '../../../src/core/identity/membership.js'
import { createPeer } from '../../../src/core/peer/peer.js'
import { MAX_PEER_ID_LENGTH, isPeerId } from '../../../src/core/wire/peer-id.js'
import { resolveConfig } from '../../../src/node/config.js'

const GOOD = ['vp0', 'tab-a1b2c3', 'node.example:7051', 'A_b-9', 'x'.repeat(MAX_PEER_ID_LENGTH)]
const BAD = ['', 'has space', 'é', 'vp0/../x', 'x'.repeat(MAX_PEER_ID_LENGTH + 1), 'line\nbreak']

describe('the one peer-ID rule', () => {
  it('takes letters, digits and . _ : - up to MAX_PEER_ID_LENGTH', () => {
    for (const id of GOOD) expect(isPeerId(id), id).toBe(true)
    for (const id of BAD) expect(isPeerId(id), JSON.stringify(id)).toBe(false)
    expect(isPeerId(7)).toBe(false)
  })

  it('is the rule of a peer config, of --id and of a membership file alike', () => {
    const key = 'A'.repeat(43) + '='
    for (const id of [...GOOD, ...BAD]) {
      const byPeer = (() => {
        try {
          createPeer({ id, role: 'validator' })
          return true
        } catch {
          return false
        }
      })()
      const byFlag = (() => {
        try {
          resolveConfig({ argv: ['--id', id], env: {} })
          return true
        } catch {
          return false
        }
      })()
      const byMembership = (() => {
        try {
          parseMembership(JSON.stringify({ validators: [{ id, publicKey: key }] }), 'm.json')
          return true
        } catch (err) {
          // A refusal of the key, not of the ID, still means the ID passed.
          return !String((err as Error).message).includes('peer ID')
        }
      })()
      expect([byPeer, byFlag, byMembership], JSON.stringify(id)).toEqual([isPeerId(id), isPeerId(id), isPeerId(id)])
    }
  })
})
