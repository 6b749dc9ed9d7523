/**
 * The one place that names Socket.IO rooms. Every tenant room is prefixed with its
 * app id, so one namespace can hold all tenants without one seeing another's rooms
 * (DESIGN §2). Clients never name a Socket.IO room themselves.
 */
export function roomKey(appId: string, room: string): string {
  return `a:${appId}:${room}`;
}

/** The room of one end user across all their devices. */
export function userRoomKey(appId: string, userId: string): string {
  return `u:${appId}:${userId}`;
}
