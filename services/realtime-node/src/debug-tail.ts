import { RelaybaseError, type WireError } from "@relaybase/protocol";
import { type DebugTap, type DebugWatchers, debugRoomKey } from "@relaybase/server-kit";
import type { ClientRequest } from "./socket-requests.js";
import type { RealtimeServer, RealtimeSocket } from "./types.js";

/**
 * The node's side of the console's live tail (docs/console.md#the-debug-console): who may
 * join an app's debug room, telling the cluster which apps are watched, and the events of
 * the connections this node holds. Publishes are reported by the Publisher, for client
 * and REST publishes alike.
 */

const DEBUG_PREFIX = debugRoomKey("");

/**
 * The watcher registry follows this node's debug rooms: an app is held while the room has
 * a local socket, whatever way they leave (unsubscribe, disconnect, a refreshed token
 * without the claim). The adapter tells of the first join and the last leave.
 */
export function trackDebugRooms(io: RealtimeServer, watchers: DebugWatchers): void {
  const adapter = io.of("/").adapter;
  adapter.on("create-room", (room: string) => {
    if (room.startsWith(DEBUG_PREFIX)) watchers.hold(room.slice(DEBUG_PREFIX.length));
  });
  adapter.on("delete-room", (room: string) => {
    if (room.startsWith(DEBUG_PREFIX)) watchers.release(room.slice(DEBUG_PREFIX.length));
  });
}

/** `subscribe` to DEBUG_ROOM: only a console's debug token, only for its own app. */
export async function subscribeDebug(socket: RealtimeSocket): Promise<void> {
  if (!socket.data.debug) throw new RelaybaseError("RESERVED_ROOM");
  await socket.join(debugRoomKey(socket.data.appId));
}

export async function unsubscribeDebug(socket: RealtimeSocket): Promise<void> {
  await socket.leave(debugRoomKey(socket.data.appId));
}

/** The debug room survives a credentials change only with the claim still there. */
export function keepsDebugRoom(socket: RealtimeSocket, key: string): boolean {
  return key === debugRoomKey(socket.data.appId) && socket.data.debug === true;
}

/** The code of the last notice the server sent a socket: the reason code of its disconnect. */
const lastNotice = new WeakMap<RealtimeSocket, WireError["code"]>();

export function rememberNotice(socket: RealtimeSocket, event: string, payload: unknown): void {
  if (event !== "notice") return;
  const code = (payload as Partial<WireError> | undefined)?.code;
  if (code) lastNotice.set(socket, code);
}

function who(socket: RealtimeSocket) {
  return {
    connectionId: socket.id,
    ...(socket.data.userId === undefined ? {} : { userId: socket.data.userId }),
  };
}

/**
 * A console's own tail connection is left out of the tail: it would only ever show the
 * console watching itself.
 */
export function reportConnection(tap: DebugTap, socket: RealtimeSocket): void {
  if (socket.data.debug) return;
  const { appId } = socket.data;
  tap.emit(appId, () => ({ kind: "connect", ...who(socket), transport: socket.conn.transport.name }));
}

/** The socket's `disconnect`, with the code of the last notice it was sent (why it was closed). */
export function reportDisconnection(tap: DebugTap, socket: RealtimeSocket, reason: string): void {
  if (socket.data.debug) return;
  const code = lastNotice.get(socket);
  tap.emit(socket.data.appId, () => ({
    kind: "disconnect",
    ...who(socket),
    reason,
    ...(code ? { code } : {}),
  }));
}

export function reportRoom(
  tap: DebugTap,
  socket: RealtimeSocket,
  kind: "subscribe" | "unsubscribe",
  room: string,
) {
  tap.emit(socket.data.appId, () => ({ kind, ...who(socket), room }));
}

/** A request refused with its code; the room it named, cut to a room name's length. */
export function reportRefusal(
  tap: DebugTap,
  socket: RealtimeSocket,
  request: ClientRequest,
  code: WireError["code"],
  room: unknown,
): void {
  tap.emit(socket.data.appId, () => ({
    kind: "refused",
    ...who(socket),
    request,
    code,
    ...(typeof room === "string" ? { room: room.slice(0, 200) } : {}),
  }));
}

/** A refused handshake of a known app (a wrong key names no app, so no tail hears of it). */
export function reportHandshakeRefusal(
  tap: DebugTap,
  appId: string | undefined,
  socket: RealtimeSocket,
  code: WireError["code"],
): void {
  if (appId === undefined) return;
  tap.emit(appId, () => ({ kind: "refused", connectionId: socket.id, request: "connect", code }));
}
