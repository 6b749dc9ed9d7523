import {
  can,
  isValidRoomName,
  type PresenceAck,
  type PresenceEvent,
  type PresenceGetAck,
  RelaybaseError,
} from "@relaybase/protocol";
import { presenceEnterRequest, presenceGetRequest, presenceLeaveRequest } from "@relaybase/protocol/schemas";
import {
  type Logger,
  NodePresence,
  type PresenceChange,
  type PresenceStore,
  roomKey,
  type TenantDirectory,
} from "@relaybase/server-kit";
import { adapterBroadcast } from "./adapter-broadcast.js";
import type { ClientPublishLimits } from "./limits.js";
import { currentApp, type Routes, route } from "./socket-requests.js";
import type { RealtimeServer, RealtimeSocket } from "./types.js";

/**
 * Presence on a realtime node (docs/presence.md): the `presence.*` events of one socket,
 * and the announcements, sent to the room's subscribers on every node through the
 * adapter. The rules (one member per user, grace period, leases) live in server-kit's
 * `NodePresence` and the store.
 */
export interface NodePresenceDeps {
  /** In memory by default (embedded); `RedisPresence` in a cluster. */
  store?: PresenceStore | undefined;
  graceMs?: number | undefined;
  logger: Logger;
  /** Each change announced (once cluster-wide): the webhook events. */
  onChange?: (change: PresenceChange) => void;
}

export function createNodePresence(io: RealtimeServer, deps: NodePresenceDeps): NodePresence {
  return new NodePresence({
    ...(deps.store ? { store: deps.store } : {}),
    ...(deps.graceMs === undefined ? {} : { graceMs: deps.graceMs }),
    logger: deps.logger,
    announce: (change) => {
      announce(io, change, deps.logger);
      deps.onChange?.(change);
    },
  });
}

/** To the tenant room's subscribers on every node. The room key is made by `roomKey` from the app id and the validated room name. */
function announce(io: RealtimeServer, change: PresenceChange, logger: Pick<Logger, "error">): void {
  const event: PresenceEvent = { room: change.room, action: change.action, member: change.member };
  adapterBroadcast(io, logger, "presence", event, roomKey(change.appId, change.room));
}

export interface PresenceRouteDeps {
  presence: NodePresence;
  directory: TenantDirectory;
  /** Enters and updates are broadcasts: they count against the connection's publish rate. */
  publishLimits: ClientPublishLimits;
}

/** The `presence.*` requests, for every socket of a node (`requestListener`). */
export function presenceRoutes(deps: PresenceRouteDeps): Routes {
  const { presence } = deps;
  const enter = route(presenceEnterRequest, async (socket, { room, data }): Promise<PresenceAck> => {
    const app = await currentApp(socket, deps.directory);
    authorize(socket, room, false);
    await deps.publishLimits.check(socket, app);
    await presence.enter({ app, room, userId: socket.data.userId, connectionId: socket.id, data });
    return { ok: true };
  });
  const leave = route(presenceLeaveRequest, async (socket, { room }): Promise<PresenceAck> => {
    authorize(socket, room, false);
    await presence.leave(socket.data.appId, room, socket.id);
    return { ok: true };
  });
  const get = route(presenceGetRequest, async (socket, { room, cursor, limit }): Promise<PresenceGetAck> => {
    authorize(socket, room, true);
    const page = await presence.page(socket.data.appId, room, { cursor, limit });
    return { ok: true, ...page };
  });
  return { "presence.enter": enter, "presence.update": enter, "presence.leave": leave, "presence.get": get };
}

/**
 * Back with the same id (Socket.IO recovery): what it entered is still held, as far as
 * its fresh credentials allow.
 */
export function presenceReconnected(socket: RealtimeSocket, presence: NodePresence): void {
  presence.reconnected(socket.id);
  void leavePresenceNoLongerAllowed(socket, presence);
}

/** Only a client that closed on purpose leaves at once; a dropped one has its grace period. */
export function presenceDisconnected(socket: RealtimeSocket, presence: NodePresence, reason: string): void {
  presence.disconnected(socket.id, reason === "client namespace disconnect");
}

/** After new credentials (`auth`): leave the presence of rooms they no longer allow. */
export function leavePresenceNoLongerAllowed(socket: RealtimeSocket, presence: NodePresence): Promise<void> {
  return presence.retain(socket.id, (room) => can(socket.data.caps, "presence", room));
}

/**
 * Entering, updating and leaving need `presence` on the room; reading the member set
 * (`read`) needs `presence` or `subscribe`, as subscribers see every change anyway.
 */
function authorize(socket: RealtimeSocket, room: string, read: boolean): void {
  if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
  const caps = socket.data.caps;
  if (can(caps, "presence", room) || (read && can(caps, "subscribe", room))) return;
  throw new RelaybaseError("CAPABILITY_DENIED", `This connection may not use presence on ${room}.`);
}
