/**
 * A small typed event emitter. A throwing handler does not stop the others (or the
 * SDK's own bookkeeping); its error is rethrown on a fresh stack so it still surfaces.
 */
export class Emitter<Events extends object> {
  readonly #handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#handlers.get(event);
    if (!set) return;
    for (const handler of [...set]) safeCall(() => (handler as (payload: Events[K]) => void)(payload));
  }

  listenerCount(event: keyof Events): number {
    return this.#handlers.get(event)?.size ?? 0;
  }
}

export function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    setTimeout(() => {
      throw err;
    });
  }
}
