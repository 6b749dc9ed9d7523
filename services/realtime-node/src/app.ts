import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import {
  type DebugEvent,
  type MessageEnvelope,
  type SkipMarker,
  type UserMessage,
  type WireError,
  wireError,
} from "@relaybase/protocol";
import {
  type ConnectionCounter,
  connectionRoomKey,
  DebugTap,
  type DebugWatchers,
  debugRoomKey,
  type Fanout,
  type KeyUse,
  type Limiters,
  type Logger,
  MemoryConnectionCounter,
  MemoryDebugWatchers,
  MemoryRoomHistory,
  MemoryRoomOccupancy,
  MemoryRoomStates,
  memoryLimiters,
  type PresenceReader,
  type PresenceStore,
  Publisher,
  type Registry,
  type RoomHistory,
  type RoomOccupancy,
  type RoomOccupancyReader,
  type RoomStates,
  recordingKeyUse,
  type TenantDirectory,
  type UsageMeter,
  userRoomKey,
  type WebhookEmitter,
} from "@relaybase/server-kit";
import type { JWTVerifyGetKey } from "jose";
import { Server, type ServerOptions } from "socket.io";
import { adapterBroadcast } from "./adapter-broadcast.js";
import { type AdminUiConfig, mountAdminUi } from "./admin-ui.js";
import type { RealtimeNodeConfig } from "./config.js";
import { checkConnection } from "./connection-checks.js";
import {
  rememberNotice,
  reportConnection,
  reportDisconnection,
  reportHandshakeRefusal,
  reportRefusal,
  trackDebugRooms,
} from "./debug-tail.js";
import { DeliveryTally } from "./delivery-tally.js";
import { ClientPublishLimits, PendingAdmissions } from "./limits.js";
import { RealtimeNodeMetrics } from "./metrics.js";
import {
  createNodePresence,
  leavePresenceNoLongerAllowed,
  presenceDisconnected,
  presenceReconnected,
  presenceRoutes,
} from "./presence-handlers.js";
import { recoveryAdapter } from "./recovery-adapter.js";
import { leaveRoomsNoLongerAllowed, roomRoutes } from "./room-handlers.js";
import { countRoomOccupancy } from "./room-occupancy.js";
import { RoomWebhooks } from "./room-webhooks.js";
import { connectError, toWireError } from "./socket-errors.js";
import { addAnyListener, addAnyOutgoingListener } from "./socket-listeners.js";
import { requestListener } from "./socket-requests.js";
import { TokenExpiry } from "./token-expiry.js";
import type { RealtimeServer, RealtimeSocket } from "./types.js";
import { NodeWebhooks } from "./webhook-events.js";

export interface RealtimeNodeDeps {
  config: Pick<
    RealtimeNodeConfig,
    "TOKEN_ISSUER" | "RECOVERY_MAX_DISCONNECTION_MS" | "MAX_PACKET_BYTES" | "SHUTDOWN_DEADLINE_MS"
  > &
    Partial<
      Pick<
        RealtimeNodeConfig,
        | "ADAPTER_MAX_LEN"
        | "TRUST_PROXY"
        | "METRICS_APP_LABELS"
        | "PRESENCE_GRACE_MS"
        | "ROOM_LEASE_MS"
        | "ROOM_WEBHOOK_DEBOUNCE_MS"
      >
    > &
    Partial<AdminUiConfig>;
  directory: TenantDirectory;
  /** Token verification keys (jose): a local JWKS in-process, a remote one when alone. */
  keys: JWTVerifyGetKey;
  logger: Logger;
  /** Per-room history; in memory by default (embedded mode). */
  history?: RoomHistory;
  /** Connections per app across the cluster; in memory by default. */
  connections?: ConnectionCounter;
  /** Whether the dependencies answer (Redis in a cluster); /readyz reports it. */
  isReady?: () => boolean;
  /** Socket.IO adapter; in memory by default, the Redis streams adapter in a cluster. */
  adapter?: ServerOptions["adapter"];
  /** Usage metering: messages published through this node and delivered to its sockets. Its owner closes it. */
  usage?: UsageMeter;
  /** Connect rate and daily quota, shared with the REST API (docs/limits.md); in memory by default. */
  limiters?: Limiters;
  /** Prometheus registry for this node's series; a new one by default. Process metrics are its owner's. */
  metrics?: Registry;
  /** Presence members of every node (docs/presence.md); in memory by default, `RedisPresence` in a cluster. */
  presence?: PresenceStore;
  /** Which apps a console watches, cluster-wide (docs/console.md); in memory by default. Its owner closes it. */
  debugWatchers?: DebugWatchers;
  /** Records each publishable key's use, at most once a minute per key (the console's "last used"). */
  keyUse?: KeyUse;
  /** Names this node in debug events. @default `<hostname>#<pid>` (the Admin UI's serverId) */
  nodeId?: string;
  /** Subscribers per room of every node (docs/rest-api.md); in memory by default, `RedisRoomOccupancy` in a cluster. Closed with the node. */
  occupancy?: RoomOccupancy;
  /** Where webhook events go (docs/webhooks.md): a Redis stream in a cluster, the outbox embedded. Unset: none. */
  webhooks?: WebhookEmitter;
  /** What room webhooks last announced (docs/webhooks.md#room-events); in memory by default, `RedisRoomStates` in a cluster. */
  roomStates?: RoomStates;
}

export interface RealtimeNode {
  io: RealtimeServer;
  httpServer: HttpServer;
  /** The publish path of this node, for an in-process REST API (embedded mode). */
  publisher: Publisher;
  /** Connection counts, for an in-process REST API (embedded mode). */
  connections: ConnectionCounter;
  /** This node's series (its registry is what METRICS_PORT serves). */
  metrics: RealtimeNodeMetrics;
  /** The Admin UI's serverId when it is on. */
  adminServerId: string | undefined;
  /** Presence members, for an in-process REST API (embedded mode). */
  presence: PresenceReader;
  /** Room history, for an in-process REST API (embedded mode). */
  history: RoomHistory;
  /** The debug tail of this node, for an in-process REST API's refusals (embedded mode). */
  debug: DebugTap;
  /** Subscribers per room, for an in-process REST API (embedded mode). */
  occupancy: RoomOccupancyReader;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Drains: readiness fails, new connections are refused, clients told to reconnect. */
  close(): Promise<void>;
}

/** Delivers through Socket.IO's adapter (`adapterBroadcast`): this node's sockets, or the cluster's. */
export class SocketIoFanout implements Fanout {
  constructor(
    private readonly io: RealtimeServer,
    private readonly logger: Pick<Logger, "error">,
  ) {}

  deliver(key: string, envelope: MessageEnvelope, exceptRoom?: string): void {
    this.#broadcast("message", envelope, key, exceptRoom);
    if (!exceptRoom) return;
    // The excluded connection still learns the offset was taken, so it does not wait
    // for a message that will never come (and does not fetch it from history).
    const { room, offset, epoch } = envelope;
    const marker: SkipMarker = { room, offset, epoch };
    this.#broadcast("skip", marker, exceptRoom);
  }

  deliverToUser(userKey: string, message: UserMessage): void {
    this.#broadcast("user.message", message, userKey);
  }

  deliverDebug(appId: string, event: DebugEvent): void {
    this.#broadcast("debug", event, debugRoomKey(appId));
  }

  disconnectUser(userKey: string, notice: WireError): void {
    // In order on every node: the notice is written to each socket before its disconnect.
    this.#broadcast("notice", notice, userKey);
    const opts = { rooms: new Set([userKey]), except: new Set<string>(), flags: {} };
    const pending: unknown = this.io.of("/").adapter.disconnectSockets(opts, false);
    if (pending instanceof Promise) {
      pending.catch((err: unknown) =>
        this.logger.error({ err, room: userKey }, "disconnect failed in the adapter"),
      );
    }
  }

  #broadcast(
    event: "message" | "skip" | "user.message" | "notice" | "debug",
    payload: unknown,
    room: string,
    except?: string,
  ) {
    adapterBroadcast(this.io, this.logger, event, payload, room, except);
  }
}

export function createRealtimeNode(deps: RealtimeNodeDeps): RealtimeNode {
  const { config, keys, logger } = deps;
  // Every publishable key a handshake names is recorded as used (the console's key list).
  const directory = recordingKeyUse(deps.directory, deps.keyUse);
  const metrics = new RealtimeNodeMetrics(deps.metrics, config.METRICS_APP_LABELS);
  const history = metrics.timed(deps.history ?? new MemoryRoomHistory());
  const connections = deps.connections ?? new MemoryConnectionCounter();
  const limiters = deps.limiters ?? memoryLimiters();
  const publishLimits = new ClientPublishLimits(logger);
  let draining = false;

  const httpServer = createServer((req, res) =>
    probes(req, res, () => draining, deps.isReady ?? (() => true)),
  );
  const io: RealtimeServer = new Server(httpServer, {
    // Alone (no cluster adapter), recovery keeps a bounded buffer (recovery-adapter.ts).
    adapter:
      deps.adapter ??
      recoveryAdapter({
        windowMs: config.RECOVERY_MAX_DISCONNECTION_MS,
        maxPackets: config.ADAPTER_MAX_LEN ?? 10_000,
      }),
    maxHttpBufferSize: config.MAX_PACKET_BYTES,
    // Origins are checked per app by the connection checks, not by CORS.
    cors: { origin: true },
    connectionStateRecovery: {
      maxDisconnectionDuration: config.RECOVERY_MAX_DISCONNECTION_MS,
      // A recovered socket is authenticated again: its key may have been revoked.
      skipMiddlewares: false,
    },
  });
  const fanout = new SocketIoFanout(io, logger);
  const debugWatchers = deps.debugWatchers ?? new MemoryDebugWatchers();
  trackDebugRooms(io, debugWatchers);
  const debug = new DebugTap(debugWatchers, (appId, event) => fanout.deliverDebug(appId, event), {
    node: deps.nodeId ?? `${hostname()}#${process.pid}`,
    logger,
  });
  const publisher = new Publisher(history, fanout, metrics.observer(deps.usage), debug);
  const adminServerId = mountAdminUi(io, config);
  const occupancy = deps.occupancy ?? new MemoryRoomOccupancy();
  countRoomOccupancy(io, occupancy);
  const roomWebhooks = deps.webhooks
    ? new RoomWebhooks(io, {
        occupancy,
        states: deps.roomStates ?? new MemoryRoomStates(),
        directory,
        emitter: deps.webhooks,
        debounceMs: config.ROOM_WEBHOOK_DEBOUNCE_MS ?? 3_000,
        sweepMs: config.ROOM_LEASE_MS ?? 5_000,
        logger,
      })
    : undefined;
  const webhooks = new NodeWebhooks(directory, deps.webhooks, logger);
  const presence = createNodePresence(io, {
    store: deps.presence,
    graceMs: config.PRESENCE_GRACE_MS,
    logger,
    onChange: (change) => webhooks.presenceChanged(change),
  });
  const expiry = new TokenExpiry();
  const checkDeps = {
    directory,
    keys,
    issuer: config.TOKEN_ISSUER,
    isDraining: () => draining,
    limits: {
      connections,
      rate: limiters.rate,
      pending: new PendingAdmissions(),
      trustProxy: config.TRUST_PROXY ?? 0,
      logger,
    },
  };

  io.use((socket, next) => {
    checkConnection(socket, checkDeps).then(
      (data) => {
        // Merge: a recovered socket keeps what Socket.IO restored, with fresh credentials.
        Object.assign(socket.data, data);
        if (data.exp === undefined) delete socket.data.exp;
        if (data.userId === undefined) delete socket.data.userId;
        if (data.debug === undefined) delete socket.data.debug;
        next();
      },
      (err: unknown) => {
        const error = toWireError(err, logger.child({ socketId: socket.id }));
        metrics.handshakeRefused(
          error.code,
          () => appIdOfHandshake(socket.handshake.auth, directory),
          logger,
        );
        // A wrong key names no app; any other refusal's key was found (and is cached).
        if (error.code !== "INVALID_KEY" && error.code !== "WRONG_KEY_TYPE") {
          appIdOfHandshake(socket.handshake.auth, directory).then(
            (appId) => reportHandshakeRefusal(debug, appId, socket, error.code),
            () => {},
          );
        }
        next(connectError(error));
      },
    );
  });

  const onRequest = requestListener(
    {
      ...roomRoutes({
        directory,
        history,
        publisher,
        keys,
        issuer: config.TOKEN_ISSUER,
        expiry,
        logger,
        publishLimits,
        dailyQuota: limiters.daily,
        debug,
        afterAuth: (s) => void leavePresenceNoLongerAllowed(s, presence),
        onClientPublished: (app, message, from) => webhooks.clientPublished(app, message, from),
      }),
      ...presenceRoutes({ presence, directory, publishLimits }),
    },
    {
      logger,
      onRefused: (socket, code, request, room) => {
        metrics.refused(socket.data.appId, code);
        reportRefusal(debug, socket, request, code, room);
      },
    },
  );
  const usage = deps.usage;
  const deliveries = new DeliveryTally((appId, event, envelope, count) => {
    metrics.countDelivered(appId, event, envelope, count);
    if (usage) usage.deliveredEnvelope(appId, envelope, count);
  });
  // Fires per recipient socket, broadcasts included: one delivery each, tallied per
  // broadcast. Like the request and disconnect listeners, one function shared by every
  // socket (`this` is the socket).
  function onOutgoing(this: RealtimeSocket, event: string, payload: unknown): void {
    if (event === "message" || event === "user.message") {
      deliveries.add(this.data.appId, event, payload as MessageEnvelope);
    } else {
      rememberNotice(this, event, payload);
    }
  }
  // The connection count was taken at admission and is given back on disconnect
  // (connection-checks.ts); the rest of a socket's goodbye is here.
  function onDisconnect(this: RealtimeSocket, reason: string): void {
    expiry.clear(this.id);
    metrics.connectionClosed(this);
    presenceDisconnected(this, presence, reason);
    reportDisconnection(debug, this, reason);
  }

  io.on("connection", (socket) => {
    // The upgrade request is read only by the checks above (through socket.handshake, built
    // from it before they run); kept, it would hold its headers, buffers and socket objects
    // for the life of the connection (Socket.IO's memory advice).
    (socket.conn as { request: unknown }).request = null;
    // Nor is the handshake's auth read after the checks: the key and the token (a secret,
    // ~0.5 KB) need not live as long as the connection. A recovered socket brings its own.
    socket.handshake.auth = {};
    if (socket.recovered) {
      leaveRoomsNoLongerAllowed(socket);
      presenceReconnected(socket, presence);
    }
    expiry.arm(socket);
    const { appId } = socket.data;
    metrics.handshakeAccepted(socket);
    // REST publishes that exclude this connection reach it only through its app's room.
    void socket.join(connectionRoomKey(appId, socket.id));
    // `POST …/users/:userId/publish` reaches every connection of a user through this room
    // (DESIGN §2); a recovered socket re-authenticated as another user left the old one.
    if (socket.data.userId !== undefined) void socket.join(userRoomKey(appId, socket.data.userId));
    addAnyOutgoingListener(socket, onOutgoing);
    addAnyListener(socket, onRequest);
    socket.on("disconnect", onDisconnect);
    reportConnection(debug, socket);
  });

  return {
    io,
    httpServer,
    publisher,
    connections,
    metrics,
    adminServerId,
    presence,
    history,
    debug,
    occupancy,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => resolve(httpServer.address() as AddressInfo));
      }),
    async close() {
      draining = true;
      // Only this node's sockets: with a cluster adapter io.emit would reach every node.
      io.local.emit("notice", wireError("SERVER_SHUTTING_DOWN"));
      // Let the notice reach clients, then close what is left by the deadline.
      await waitForSockets(io, config.SHUTDOWN_DEADLINE_MS);
      expiry.clearAll();
      await io.close();
      debug.close();
      await presence.close();
      roomWebhooks?.close();
      await occupancy.close();
      await connections.close();
    },
  };
}

/** The app a refused handshake named by its key, for the limit-refusal metric (the directory caches it). */
async function appIdOfHandshake(auth: unknown, directory: TenantDirectory): Promise<string | undefined> {
  const key = (auth as { key?: unknown } | undefined)?.key;
  return typeof key === "string" ? (await directory.byPublishableKey(key))?.appId : undefined;
}

/** Waits until clients have left (they reconnect elsewhere on the notice) or the deadline. */
async function waitForSockets(io: RealtimeServer, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  // Clients that got the notice close themselves; a short floor lets the notice flush.
  await new Promise((r) => setTimeout(r, Math.min(100, deadlineMs)));
  while (io.of("/").sockets.size > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

function probes(
  req: IncomingMessage,
  res: ServerResponse,
  isDraining: () => boolean,
  isReady: () => boolean,
) {
  const path = req.url?.split("?")[0];
  if (path === "/healthz") json(res, 200, { ok: true });
  else if (path === "/readyz" && isDraining()) json(res, 503, { error: wireError("SERVER_SHUTTING_DOWN") });
  else if (path === "/readyz" && !isReady()) json(res, 503, { error: wireError("UNAVAILABLE") });
  else if (path === "/readyz") json(res, 200, { ok: true });
  else json(res, 404, { error: wireError("NOT_FOUND") });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
