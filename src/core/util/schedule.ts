/**
 * Runs a callback on the next macrotask. Outbound coalescing flushes here rather than in a
 * microtask: the engine awaits every recvMsg, so microtasks run between messages and a microtask
 * flush would send one frame per message. Feature-detected, so the core stays web-standard:
 * setImmediate where the runtime has it (Node), else a MessageChannel (no 4 ms clamp in browsers).
 */
type Callback = () => void

const immediate = (globalThis as { setImmediate?: (fn: Callback) => unknown }).setImmediate

let channelQueue: Callback[] = []
let channel: MessageChannel | undefined

function viaChannel(fn: Callback): void {
  if (channel === undefined) {
    channel = new MessageChannel()
    channel.port1.onmessage = () => {
      const run = channelQueue
      channelQueue = []
      for (const cb of run) cb()
    }
  }
  channelQueue.push(fn)
  if (channelQueue.length === 1) channel.port2.postMessage(null)
}

export function scheduleMacrotask(fn: Callback): void {
  if (immediate !== undefined) immediate(fn)
  else if (typeof MessageChannel !== 'undefined') viaChannel(fn)
  else globalThis.setTimeout(fn, 0)
}
