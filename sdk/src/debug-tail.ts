import {
  DEBUG_ROOM,
  type DebugEvent,
  type RelaybaseError,
  type SubscribeAck,
  type WireError,
} from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { toRelaybaseError } from "./errors.js";

interface DebugTailHost {
  readonly socket: Socket;
  readonly ackTimeoutMs: number;
  report(error: RelaybaseError): void;
}

/**
 * An app's live debug tail (the console's; docs/console.md#the-debug-console): every
 * connect, disconnect, subscribe, unsubscribe, publish and refusal the platform reports,
 * under its per-app cap. Needs a token with the debug claim, which only the control plane's
 * `apps.debugToken` mints; anything else is refused with `RESERVED_ROOM`. Resubscribes
 * after every reconnect; events are not stored, so what happens while disconnected is
 * not replayed.
 *
 * @example
 * const tail = client.debugTail();
 * tail.on((event) => console.log(event.kind, event.room));
 * await tail.start();
 */
export class DebugTail {
  readonly #handlers = new Set<(event: DebugEvent) => void>();
  #wanted = false;
  #waiters: { resolve: () => void; reject: (error: RelaybaseError) => void }[] = [];

  /** @internal Use `client.debugTail()`. */
  constructor(private readonly host: DebugTailHost) {}

  /** Calls `handler` with each event; returns the function that removes it. */
  on(handler: (event: DebugEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Subscribes (now, or on the next connect); rejects when the server refuses. */
  start(): Promise<void> {
    this.#wanted = true;
    const started = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (this.host.socket.connected) this.#request();
    return started;
  }

  /** Stops listening (the handlers stay, for a later `start`). */
  async stop(): Promise<void> {
    this.#wanted = false;
    if (this.host.socket.connected) {
      await this.host.socket
        .timeout(this.host.ackTimeoutMs)
        .emitWithAck("unsubscribe", { room: DEBUG_ROOM })
        .catch(() => {});
    }
  }

  /** @internal */
  _connected(): void {
    if (this.#wanted) this.#request();
  }

  /** @internal */
  _event(event: DebugEvent): void {
    if (!this.#wanted) return;
    for (const handler of this.#handlers) handler(event);
  }

  /** @internal The client closed or failed. */
  _stop(error: RelaybaseError): void {
    this.#settle(error);
  }

  #request(): void {
    this.host.socket
      .timeout(this.host.ackTimeoutMs)
      .emit("subscribe", { room: DEBUG_ROOM }, (err: Error | null, ack: SubscribeAck) => {
        // Timed out: ask again (a reconnect asks anyway).
        if (err) {
          if (this.#wanted && this.host.socket.connected) this.#request();
          return;
        }
        if (ack.ok) return this.#settle();
        const error = toRelaybaseError(ack.error as WireError);
        this.#wanted = false;
        if (this.#waiters.length === 0) this.host.report(error);
        this.#settle(error);
      });
  }

  #settle(error?: RelaybaseError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }
}
