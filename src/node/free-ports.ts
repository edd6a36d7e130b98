import { createServer, type Server } from 'node:net'

/**
 * A run of `count` consecutive free loopback ports, held only while probing (so another process
 * may still take one before the caller binds it; callers on a shared machine retry or accept it).
 */
export async function freePortRun(count: number): Promise<number> {
  const listen = (port: number) =>
    new Promise<Server | undefined>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(undefined))
      server.listen(port, '127.0.0.1', () => resolve(server))
    })
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0)
    if (first === undefined) continue
    const base = (first.address() as { port: number }).port
    const held = [first]
    for (let i = 1; i < count && base + i < 65536; i++) {
      const s = await listen(base + i)
      if (s === undefined) break
      held.push(s)
    }
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    if (held.length === count) return base
  }
  throw new Error(`no run of ${count} free ports found`)
}
