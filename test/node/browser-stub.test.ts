import { describe, expect, it } from 'vitest'

describe('wspeer/node in a browser build', () => {
  it('fails at import time, saying what to import instead', async () => {
    await expect(import('../../src/node/browser-stub.js')).rejects.toThrow('wspeer/node is Node-only; import "wspeer" in the browser')
  })
})
