import { wireError } from "@relaybase/protocol";
import type { RealtimeSocket } from "./types.js";

/**
 * Enforces token expiry on live sockets: a connection lives no longer than its token
 * unless the client sends a fresh one (`auth` event). Timers live here, not in
 * socket.data, because socket.data is kept for connection state recovery.
 */
export class TokenExpiry {
  readonly #timers = new Map<string, NodeJS.Timeout>();

  /** (Re)arms the timer for this socket's current `exp`. */
  arm(socket: RealtimeSocket): void {
    this.clear(socket.id);
    const exp = socket.data.exp;
    if (exp === undefined) return;
    // setTimeout's limit is ~24.8 days; tokens live at most 24 h.
    const delay = Math.max(0, exp * 1000 - Date.now());
    // One callback for every socket (the socket is the timer's argument): no closure per connection.
    const timer = setTimeout(this.#expire, delay, socket);
    timer.unref();
    this.#timers.set(socket.id, timer);
  }

  readonly #expire = (socket: RealtimeSocket): void => {
    this.#timers.delete(socket.id);
    socket.emit(
      "notice",
      wireError("TOKEN_EXPIRED", "The connection's token expired; reconnect with a new one."),
    );
    socket.disconnect(true);
  };

  clear(socketId: string): void {
    const timer = this.#timers.get(socketId);
    if (timer) clearTimeout(timer);
    this.#timers.delete(socketId);
  }

  clearAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
