#!/usr/bin/env node
// The `wspeer` command. Registers tsx so the TypeScript sources run as they are (no build step),
// then hands the arguments to src/node/cli.ts.
import { register } from 'tsx/esm/api'

register()
const { run } = await import('../src/node/cli.ts')
await run(process.argv.slice(2))
