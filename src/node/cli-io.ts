/**
 * What a CLI command talks to: its output streams, environment, fetch and shutdown signals
 * (cli.ts's processIo is the real one; tests pass their own). Its own file so the commands
 * (cli.ts) and `wspeer network`'s runner (network.ts) share it without importing each other.
 */
export interface CliIo {
  stdout(text: string): void
  stderr(text: string): void
  env: Record<string, string | undefined>
  fetch: typeof fetch
  /** Calls `listener` on each SIGINT/SIGTERM; returns the unsubscribe function. */
  onShutdown(listener: (signal: string) => void): () => void
}
