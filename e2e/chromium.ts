/**
 * How wspeer launches Chromium, for the e2e tests and the browser benchmark alike: Debian's
 * build (`CHROMIUM_PATH`, else /usr/bin/chromium; Playwright's own download does not work here),
 * headless, with the flags that keep it from reaching out to the network (without them it floods
 * a closed one with connection attempts).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export function chromiumPath(): string {
  return process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
}
