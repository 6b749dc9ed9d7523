import { isValidRoomName } from "@relaybase/protocol";

/**
 * The one place that names Socket.IO rooms. Every tenant room is prefixed with its
 * app id, so one namespace can hold all tenants without one seeing another's rooms
 * (DESIGN §2). Clients never name a Socket.IO room themselves.
 */
export function roomKey(appId: string, room: string): string {
  return `a:${appId}:${room}`;
}

/**
 * The room holding exactly one connection, scoped to its app. A REST publish that
 * excludes a connection names it by id; reaching it through this room (never through
 * the bare socket id, which is a namespace-wide room) means an id from another app
 * reaches no one. Callers check the id with `isValidConnectionId` first.
 */
export function connectionRoomKey(appId: string, connectionId: string): string {
  return `c:${appId}:${connectionId}`;
}

/** The room of one end user across all their devices. */
export function userRoomKey(appId: string, userId: string): string {
  return `u:${appId}:${userId}`;
}

/**
 * The app and room of a tenant room's key (`roomKey`'s inverse), or undefined for any other
 * Socket.IO room (connection, user and socket-id rooms, or a reserved name outside the room
 * alphabet): what room occupancy counts.
 */
export function parseRoomKey(key: string): { appId: string; room: string } | undefined {
  if (!key.startsWith("a:")) return undefined;
  const end = key.indexOf(":", 2);
  if (end <= 2) return undefined;
  const room = key.slice(end + 1);
  return isValidRoomName(room) ? { appId: key.slice(2, end), room } : undefined;
}
