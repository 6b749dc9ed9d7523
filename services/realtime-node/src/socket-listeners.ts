import type { RealtimeSocket } from "./types.js";

/**
 * `socket.onAny` / `socket.onAnyOutgoing` for the one listener each that every socket of a
 * node gets at connection. Socket.IO keeps these in per-socket arrays it creates empty and
 * pushes to, and V8 gives a pushed-to empty array room for 17 elements: ~150 bytes per
 * array and socket that stay empty. An array literal of the one listener has room for
 * exactly it. Anything added later (the Admin UI adds its own) goes through Socket.IO's
 * own methods and grows the array as usual. Relies on the two fields `onAny` and
 * `onAnyOutgoing` read (Socket.IO 4.x: `_anyListeners`, `_anyOutgoingListeners`), and
 * falls back to those methods if the fields are ever set already.
 */
type AnyListener = (this: RealtimeSocket, event: string, ...args: unknown[]) => void;

interface ListenerFields {
  _anyListeners?: unknown[];
  _anyOutgoingListeners?: unknown[];
}

export function addAnyListener(socket: RealtimeSocket, listener: AnyListener): void {
  const fields = socket as unknown as ListenerFields;
  if (fields._anyListeners === undefined) fields._anyListeners = [listener];
  else socket.onAny(listener as never);
}

export function addAnyOutgoingListener(socket: RealtimeSocket, listener: AnyListener): void {
  const fields = socket as unknown as ListenerFields;
  if (fields._anyOutgoingListeners === undefined) fields._anyOutgoingListeners = [listener];
  else socket.onAnyOutgoing(listener as never);
}
