/**
 * EventTarget with a typed event map: dispatching an unknown event name or the wrong detail type
 * is a compile error. Events are CustomEvents whose `detail` carries the data.
 */
export class TypedEventTarget<EventMap extends Record<string, unknown>> extends EventTarget {
  dispatchTyped<K extends keyof EventMap & string>(type: K, detail: EventMap[K]): boolean {
    return this.dispatchEvent(new CustomEvent(type, { detail }))
  }

  on<K extends keyof EventMap & string>(
    type: K,
    listener: (detail: EventMap[K]) => void,
    options?: AddEventListenerOptions,
  ): () => void {
    const wrapped = (event: Event) => listener((event as CustomEvent<EventMap[K]>).detail)
    this.addEventListener(type, wrapped, options)
    return () => this.removeEventListener(type, wrapped)
  }
}
