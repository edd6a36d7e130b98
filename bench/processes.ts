/**
 * Spawning benchmark workers and talking to them. Each worker is its own Node process
 * (`process.execPath --import tsx bench/<worker>.ts`) with an IPC channel: the parent sends
 * commands (`{ cmd, ... }`) and waits for replies (`{ reply, ... }`); workers never decide when a
 * round starts or ends. A worker that dies or does not answer in time fails the round.
 *
 * Every worker runs with the Node flags and the environment (glibc's malloc settings) `wspeer
 * network` gives its peers (src/node/peer-process.ts), the raw baselines too, so the figures are
 * those of the peers users run and ratios compare like with like.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { peerNodeArgs, peerProcessEnv } from '../src/node/peer-process.js'

/** How long a worker may take to answer one command. */
export const WORKER_REPLY_TIMEOUT_MS = 60_000

/** How long a worker asked to stop may take before it is killed. */
export const STOP_GRACE_MS = 2000

export type Message = Record<string, unknown> & { reply?: string; cmd?: string }

export interface Worker {
  readonly name: string
  readonly child: ChildProcess
  /** Sends a command and resolves with the first message whose `reply` equals `expect`. */
  request(message: Message, expect: string, timeoutMs?: number): Promise<Message>
  /** Resolves with the next message whose `reply` equals `expect`. */
  wait(expect: string, timeoutMs?: number): Promise<Message>
  send(message: Message): void
  kill(): Promise<void>
}

export function spawnWorker(script: string, name: string, args: Record<string, unknown> = {}): Worker {
  const file = fileURLToPath(new URL(script, import.meta.url))
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile per worker (read it in Chrome DevTools).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  // BENCH_NODE_ARGS='--trace-gc ...': V8 and Node flags for every worker (profiling, GC tracing).
  const extraArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '')
  // BENCH_NODE_ARGS comes after the peers' flags, so it can override them (V8 takes the last).
  const child = spawn(process.execPath, [...peerNodeArgs(), ...profile, ...extraArgs, '--import', 'tsx', file, JSON.stringify({ name, ...args })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: peerProcessEnv(process.env),
  })
  const inbox: Message[] = []
  const waiters: { expect: string; resolve: (m: Message) => void; reject: (e: Error) => void }[] = []
  let exited: Error | undefined
  child.on('message', (m: Message) => {
    const i = waiters.findIndex((w) => w.expect === m.reply)
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m)
    else inbox.push(m)
  })
  child.on('exit', (code, signal) => {
    exited = new Error(`worker ${name} exited (code ${code}, signal ${signal})`)
    for (const w of waiters.splice(0)) w.reject(exited)
  })
  const wait = (expect: string, timeoutMs = WORKER_REPLY_TIMEOUT_MS): Promise<Message> => {
    const i = inbox.findIndex((m) => m.reply === expect)
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]!)
    if (exited !== undefined) return Promise.reject(exited)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${name}: no "${expect}" within ${timeoutMs} ms`)), timeoutMs)
      waiters.push({
        expect,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
    })
  }
  const send = (message: Message): void => {
    if (child.connected) child.send(message)
  }
  return {
    name,
    child,
    wait,
    send,
    request: (message, expect, timeoutMs) => {
      const answer = wait(expect, timeoutMs)
      send(message)
      return answer
    },
    kill: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        // A CPU or heap profile is written only on a clean exit, so then the worker is asked first (and
        // killed if it does not stop in time); otherwise it is killed at once: stopping a peer
        // under a full send loop takes up to half a second, for nothing the figures need.
        const profiling = Boolean(process.env.BENCH_CPU_PROF) || Boolean(process.env.BENCH_NODE_ARGS?.includes('-prof'))
        const timer = setTimeout(() => child.kill('SIGKILL'), profiling ? STOP_GRACE_MS : 0)
        if (profiling) send({ cmd: 'stop' })
      }),
  }
}

/** Runs `body` with the workers, and kills every one of them afterwards whatever happened. */
export async function withWorkers<T>(workers: Worker[], body: (workers: Worker[]) => Promise<T>): Promise<T> {
  try {
    return await body(workers)
  } finally {
    await Promise.all(workers.map((w) => w.kill()))
  }
}

/** Worker side: the arguments the parent passed, and a typed IPC. */
export function workerArgs<T>(): T & { name: string } {
  return JSON.parse(process.argv[2] ?? '{}') as T & { name: string }
}

export function reply(message: Message): void {
  process.send?.(message)
}

export function onCommand(handler: (m: Message) => void | Promise<void>): void {
  process.on('message', (m: Message) => {
    void Promise.resolve(handler(m)).catch((err: unknown) => {
      console.error(`[${process.argv[2]}] command ${String(m.cmd)} failed:`, err)
      process.exit(1)
    })
  })
  // The parent going away (or killing the IPC) ends the worker.
  process.on('disconnect', () => process.exit(0))
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
