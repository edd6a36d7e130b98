import { describe, expect, it } from 'vitest'
import { CloseCode } from '../../src/core/errors.js'
import { BROWSER_CLOSE_CODE_OFFSET, browserCloseCode } from '../../src/browser/browser-socket.js'

// Browsers throw InvalidAccessError from WebSocket.close() for any code but 1000 and 3000-4999.
const browserAllows = (code: number | undefined): boolean => code === undefined || code === 1000 || (code >= 3000 && code <= 4999)

describe('browserCloseCode', () => {
  it('maps every close code the core uses to one a browser may send', () => {
    for (const code of Object.values(CloseCode)) expect(browserAllows(browserCloseCode(code)), `code ${code}`).toBe(true)
  })

  it('keeps allowed codes and moves refused 1xxx codes by the documented offset', () => {
    expect(browserCloseCode(undefined)).toBeUndefined()
    expect(browserCloseCode(CloseCode.NORMAL)).toBe(1000)
    expect(browserCloseCode(CloseCode.DUPLICATE_LINK)).toBe(4001)
    expect(browserCloseCode(CloseCode.UNSUPPORTED_DATA)).toBe(1003 + BROWSER_CLOSE_CODE_OFFSET)
    expect(browserCloseCode(CloseCode.MESSAGE_TOO_BIG)).toBe(3009)
    expect(browserCloseCode(2500)).toBe(1000)
  })
})
