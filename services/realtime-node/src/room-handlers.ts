import {
  type AuthAck,
  type Capability,
  can,
  exceedsDepth,
  type HistoryAck,
  isDebugRoom,
  isValidRoomName,
  type MessageEnvelope,
  type PublishAck,
  RelaybaseError,
  type SubscribeAck,
  type UnsubscribeAck,
} from "@relaybase/protocol";
import {
  authRequest,
  historyRequest,
  publishRequest,
  subscribeRequest,
  unsubscribeRequest,
} from "@relaybase/protocol/schemas";
import {
  type AppRuntime,
  connectionRoomKey,
  type DailyQuota,
  type DebugTap,
  type Logger,
  Publisher,
  type RoomHistory,
  readHistoryPage,
  retentionOf,
  roomKey,
  type TenantDirectory,
  takeDailyQuota,
  userRoomKey,
} from "@relaybase/server-kit";
import type { JWTVerifyGetKey } from "jose";
import { authenticate } from "./connection-checks.js";
import { keepsDebugRoom, reportRoom, subscribeDebug, unsubscribeDebug } from "./debug-tail.js";
import { type ClientPublishLimits, checkRoomsPerConnection } from "./limits.js";
import { currentApp, type Routes, route } from "./socket-requests.js";
import type { TokenExpiry } from "./token-expiry.js";
import type { RealtimeSocket } from "./types.js";

export interface HandlerDeps {
  /** The node's logger. */
  logger: Logger;
  directory: TenantDirectory;
  history: RoomHistory;
  publisher: Publisher;
  keys: JWTVerifyGetKey;
  issuer: string;
  expiry: TokenExpiry;
  /** Per-connection publish budgets, on this node. */
  publishLimits: ClientPublishLimits;
  /** Messages per app per UTC day, shared with REST publishes. */
  dailyQuota: DailyQuota;
  /** The app's debug tail hears of subscribes and unsubscribes. */
  debug?: DebugTap;
  /** A client publish was stored (the `client.published` webhook event). */
  onClientPublished?: (
    app: AppRuntime,
    message: { room: string; event: string; data: unknown; id: string; offset: number; epoch: string },
    from: { connectionId: string; userId?: string },
  ) => void;
  /** Runs after an `auth` replaced the connection's credentials (presence drops what they no longer allow). */
  afterAuth?: (socket: RealtimeSocket) => void;
}

/** The client → server requests of DESIGN §4 on rooms, for every socket of a node (`requestListener`). */
export function roomRoutes(deps: HandlerDeps): Routes {
  const { history, publisher } = deps;

  const subscribe = route(subscribeRequest, async (socket, { room, since }): Promise<SubscribeAck> => {
    const app = await currentApp(socket, deps.directory);
    if (isDebugRoom(room)) {
      await subscribeDebug(socket);
      // The tail takes no offsets and keeps no history (docs/console.md).
      return { ok: true, offset: 0, epoch: "debug" };
    }
    authorize(socket, "subscribe", room);
    const key = roomKey(app.appId, room);
    checkRoomsPerConnection(socket, app, key);
    // Join before reading history: a message published in between is then both
    // replayed and delivered live, and the SDK drops the copy by offset. The other
    // order could lose it.
    await socket.join(key);
    if (deps.debug) reportRoom(deps.debug, socket, "subscribe", room);
    if (!since) return { ok: true, ...(await history.position(key)) };
    const replay = await history.since(key, since, retentionOf(app));
    const messages: MessageEnvelope[] = [];
    const skipped: number[] = [];
    for (const m of replay.messages) {
      // An entry no publish could store today (kept from before MAX_DATA_DEPTH) would
      // make the whole ack unencodable: it takes its place as a skipped offset instead.
      if (exceedsDepth(m.data)) skipped.push(m.offset);
      else messages.push({ room, ...m, epoch: replay.position.epoch });
    }
    return {
      ok: true,
      ...replay.position,
      recovered: replay.recovered,
      messages,
      ...(skipped.length > 0 ? { skipped } : {}),
    };
  });

  const unsubscribe = route(unsubscribeRequest, async (socket, { room }): Promise<UnsubscribeAck> => {
    if (isDebugRoom(room)) {
      await unsubscribeDebug(socket);
      return { ok: true };
    }
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
    const key = roomKey(socket.data.appId, room);
    const was = socket.rooms.has(key);
    await socket.leave(key);
    if (was && deps.debug) reportRoom(deps.debug, socket, "unsubscribe", room);
    return { ok: true };
  });

  const publish = route(publishRequest, async (socket, { room, event, data, id }): Promise<PublishAck> => {
    const app = await currentApp(socket, deps.directory);
    if (!app.clientPublish) throw new RelaybaseError("CLIENT_PUBLISH_DISABLED");
    authorize(socket, "publish", room);
    // Limits in order (docs/limits.md): the connection's rate, the size, then the day's
    // quota, so a refused or invalid message is neither counted nor stored nor sent.
    await deps.publishLimits.check(socket, app);
    const validatedSize = Publisher.validate(app, room, event, data);
    // The quota warning is about the app (it names it); no per-publish socket logger.
    await takeDailyQuota(deps.dailyQuota, app, 1, deps.logger);
    const from = { connectionId: socket.id, ...(socket.data.userId ? { userId: socket.data.userId } : {}) };
    const published = await publisher.publish({ app, room, event, data, id, from, validatedSize });
    deps.onClientPublished?.(app, { room, event, data, ...published }, from);
    return { ok: true, ...published };
  });

  const historyPage = route(historyRequest, async (socket, request): Promise<HistoryAck> => {
    const app = await currentApp(socket, deps.directory);
    authorize(socket, "history", request.room);
    return { ok: true, ...(await readHistoryPage(history, app, request)) };
  });

  const auth = route(authRequest, async (socket, { token }): Promise<AuthAck> => {
    const app = await currentApp(socket, deps.directory);
    const next = await authenticate(app, token, deps);
    if (next.userId !== socket.data.userId) {
      throw new RelaybaseError("TOKEN_INVALID", "A refreshed token must be for the same user.");
    }
    socket.data.caps = next.caps;
    socket.data.exp = next.exp;
    if (next.debug) socket.data.debug = true;
    else delete socket.data.debug;
    leaveRoomsNoLongerAllowed(socket);
    deps.afterAuth?.(socket);
    deps.expiry.arm(socket);
    return { ok: true, exp: next.exp ?? 0 };
  });

  return { subscribe, unsubscribe, publish, history: historyPage, auth };
}

function authorize(socket: RealtimeSocket, capability: Capability, room: string): void {
  // Before the name check: the reserved name is not a valid room name, and says why.
  if (isDebugRoom(room)) throw new RelaybaseError("RESERVED_ROOM");
  if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
  if (!can(socket.data.caps, capability, room)) {
    const what = capability === "history" ? `read the history of ${room}` : `${capability} to ${room}`;
    throw new RelaybaseError("CAPABILITY_DENIED", `This connection may not ${what}.`);
  }
}

/**
 * After new credentials (token refresh, or a recovered connection re-authenticated), drop
 * the rooms they no longer allow, and any room of another app a restored session held.
 */
export function leaveRoomsNoLongerAllowed(socket: RealtimeSocket): void {
  const prefix = roomKey(socket.data.appId, "");
  const own = connectionRoomKey(socket.data.appId, socket.id);
  const user =
    socket.data.userId === undefined ? undefined : userRoomKey(socket.data.appId, socket.data.userId);
  for (const key of socket.rooms) {
    if (key === socket.id || key === own || key === user || keepsDebugRoom(socket, key)) continue;
    const allowed = key.startsWith(prefix) && can(socket.data.caps, "subscribe", key.slice(prefix.length));
    if (!allowed) void socket.leave(key);
  }
}
