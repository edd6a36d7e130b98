/**
 * A Node peer's HTTP base from its chat URL: `ws://h:p/chat` -> `http://h:p` (wss -> https), or
 * undefined for anything that is not a ws(s) URL. The tab uses it to ask its Node peer's HTTP
 * API (/chain, /blocks/<n>), the dashboard to read every Node peer's /status.
 */
export function httpBaseOf(chatUrl: string): string | undefined {
  try {
    const url = new URL(chatUrl)
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return undefined
    return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`
  } catch {
    return undefined
  }
}
