/**
 * EventTarget with a typed event map: dispatching an unknown event name or the wrong detail type
 * is a compile error. Events are CustomEvents whose `detail` carries the data.
 */
/**
 * addEventListener's options as the platform types them: the DOM lib's AddEventListenerOptions in
 * a browser build, @types/node's own under Node, so the declarations need no DOM lib.
 */
export type ListenerOptions = Parameters<EventTarget['addEventListener']>[2]

export class TypedEventTarget<EventMap extends Record<string, unknown>> extends EventTarget {
  dispatchTyped<K extends keyof EventMap & string>(type: K, detail: EventMap[K]): boolean {
    return this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  on<K extends keyof EventMap & string>(
    type: K,
    listener: (detail: EventMap[K]) => void,
    options?: ListenerOptions,
  ): () => void {
    const wrapped = (event: Event) => listener((event as CustomEvent<EventMap[K]>).detail)
    this.addEventListener(type, wrapped, options)
    return () => this.removeEventListener(type, wrapped)
  }
}
