import { createMemoryChatPair } from '../../../src/core/chat/memory-chat-stream.js'
import { chatStreamCompliance } from './chat-stream-compliance.js'

chatStreamCompliance('in-memory', async () => {
  const [a, b] = createMemoryChatPair()
  return { a, b, breakTransport: () => a.fail() }
})
