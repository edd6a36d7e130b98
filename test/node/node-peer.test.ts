import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { UnknownConsenterError } from '../../src/core/errors.js'
import { silentLogger } from '../../src/core/util/logger.js'
import { resolveConfig, startNodePeer, type NodePeer } from '../../src/node/index.js'
import { json, rawRequest } from './http-helpers.js'

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

describe('startNodePeer', () => {
  const started: NodePeer[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((n) => n.stop()))
  })

  async function start(argv: string[]): Promise<NodePeer> {
    const node = await startNodePeer(resolveConfig({ argv: ['--port', '0', ...argv], env: {} }), { log: silentLogger })
    started.push(node)
    return node
  }

  it('announces the real port when started on port 0', async () => {
    const node = await start(['--id', 'a'])
    expect(node.port).toBeGreaterThan(0)
    expect(node.address).toBe(`ws://127.0.0.1:${node.port}/chat`)
    expect(node.peer.status().address).toBe(node.address)
    const status = json(await rawRequest(node.port, { path: '/status' }))
    expect(status).toMatchObject({ id: 'a', address: node.address, role: 'validator', consensus: { plugin: 'noops' } })
  })

  it('keeps an explicit address', async () => {
    const node = await start(['--id', 'b', '--address', 'ws://peer-b.example:9000/chat'])
    expect(node.address).toBe('ws://peer-b.example:9000/chat')
  })

  it('connects two peers over WebSocket and commits a transaction submitted over HTTP on both', async () => {
    const a = await start(['--id', 'a'])
    const connected = new Promise<void>((resolve) => a.peer.on('peer-connected', (info) => info.id === 'b' && resolve()))
    const b = await start(['--id', 'b', '--peers', a.address])
    const committedOnB = new Promise<void>((resolve) =>
      b.peer.on('block-committed', ({ block }) => {
        if (block.transactions.some((tx) => tx.payload === 'over-http')) resolve()
      }),
    )
    await withTimeout(connected, 10_000, 'b to connect to a')
    const res = await rawRequest(a.port, {
      method: 'POST',
      path: '/transactions',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: 'over-http' }),
    })
    expect(res.status).toBe(202)
    await withTimeout(committedOnB, 10_000, 'the block to reach b')
    const bStatus = json(await rawRequest(b.port, { path: '/status' }))
    expect(bStatus.peers.map((p: { id: string }) => p.id)).toEqual(['a'])
  })

  it('refuses an unknown consenter and releases the port', async () => {
    const probe = createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as { port: number }).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const config = resolveConfig({ argv: ['--port', String(port), '--consensus', 'nope'], env: {} })
    await expect(startNodePeer(config, { log: silentLogger })).rejects.toBeInstanceOf(UnknownConsenterError)
    // The port is free again: a second peer can bind it.
    const node = await startNodePeer(resolveConfig({ argv: ['--port', String(port)], env: {} }), { log: silentLogger })
    started.push(node)
    expect(node.port).toBe(port)
  })

  it('refuses an unknown consenter before it listens: no `listening` line ahead of the error', async () => {
    const lines: string[] = []
    const recording = {
      debug: (msg: string) => void lines.push(msg),
      info: (msg: string) => void lines.push(msg),
      warn: (msg: string) => void lines.push(msg),
      error: (msg: string) => void lines.push(msg),
      child: () => recording,
    }
    const config = resolveConfig({ argv: ['--port', '0', '--consensus', 'raft'], env: {} })
    await expect(startNodePeer(config, { log: recording })).rejects.toThrow(/raft/)
    expect(lines).toEqual([])
  })

  it('stop() is idempotent and closes the port', async () => {
    const node = await start(['--id', 'c'])
    await Promise.all([node.stop(), node.stop()])
    await expect(rawRequest(node.port, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/)
  })
})
