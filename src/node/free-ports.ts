import { createServer, type Server } from 'node:net'

/**
 * Where freePortRun looks: below Linux's default ephemeral range (32768-60999), so a run is never
 * a port the kernel just handed out for `listen(0)` or an outbound connection, and above the
 * usual services. Asking the kernel (`listen(0)`) instead gave concurrent tests the port of a
 * nemesis validator killed a moment before, which then could not bind it again on restart.
 */
export const FREE_PORT_RANGE: readonly [number, number] = [20000, 32000]

/**
 * A run of `count` consecutive free loopback ports at a random place in FREE_PORT_RANGE, held
 * only while probing (so another process may still take one before the caller binds it; callers
 * on a shared machine retry or accept it).
 */
export async function freePortRun(count: number): Promise<number> {
  const listen = (port: number) =>
    new Promise<Server | undefined>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(undefined))
      server.listen(port, '127.0.0.1', () => resolve(server))
    })
  const [low, high] = FREE_PORT_RANGE
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low - count))
    const held: Server[] = []
    for (let i = 0; i < count; i++) {
      const s = await listen(base + i)
      if (s === undefined) break
      held.push(s)
    }
    await Promise.all(held.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    if (held.length === count) return base
  }
  throw new Error(`no run of ${count} free ports found in ${low}-${high}`)
}
