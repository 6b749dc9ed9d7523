import type { IncomingHttpHeaders } from "node:http";
import { RelaybaseError, wireError } from "@relaybase/protocol";
import {
  type AppRuntime,
  type ConnectionCounter,
  type Logger,
  MemoryRateLimiter,
  type RateLimiter,
  roomKey,
} from "@relaybase/server-kit";
import type { RealtimeSocket } from "./types.js";

/**
 * The realtime node's limits (DESIGN §6, docs/limits.md), one small function per rule:
 * at the handshake the connection quota (which also counts the connection), then the connect rate (DESIGN §4 order); on
 * `subscribe` the rooms per connection; on `publish` the per-connection rate (the size
 * is checked by the Publisher, the daily quota by `takeDailyQuota` from server-kit).
 *
 * Fail policy: the handshake checks fail open. If Redis cannot count connections or
 * rate-limit, the connection is admitted and the failure logged: an outage of the
 * limiter must not lock every client out. (Publishing needs Redis anyway.)
 */
export interface ConnectionLimitDeps {
  /** Connections per app across the cluster. */
  connections: ConnectionCounter;
  /** The cluster's shared budgets (connect rate per app and IP). */
  rate: RateLimiter;
  /** Handshakes on this node whose quota check has not decided yet. */
  pending: PendingAdmissions;
  /** Reverse proxies in front of the node that append to X-Forwarded-For (TRUST_PROXY). */
  trustProxy: number;
  logger: Logger;
}

/**
 * Handshakes whose quota check is waiting for the cluster's count. Without them, a burst
 * of handshakes for one app would all read the same count while awaiting Redis and all
 * be admitted past the quota; with them, each also counts the ones that started before
 * it and are still deciding. A handshake is here only while deciding: once admitted it
 * is counted as open in the same step (so no socket is ever counted twice, as it was
 * when admitted sockets stayed here until a later tick).
 */
export class PendingAdmissions {
  #next = 0;
  /** Per app, the sequence numbers of deciding handshakes, oldest first. */
  readonly #byApp = new Map<string, Set<number>>();

  /** Holds a place; `ahead()` counts the older ones still deciding, `release()` lets it go. */
  hold(appId: string): { ahead: () => number; release: () => void } {
    const seq = this.#next++;
    const set = this.#byApp.get(appId) ?? new Set<number>();
    this.#byApp.set(appId, set);
    set.add(seq);
    return {
      ahead: () => {
        let n = 0;
        for (const other of set) {
          if (other === seq) break;
          n++;
        }
        return n;
      },
      release: () => {
        set.delete(seq);
        if (set.size === 0 && this.#byApp.get(appId) === set) this.#byApp.delete(appId);
      },
    };
  }
}

/**
 * One admitted connection's place in its app's count, given back once. A small object,
 * not a closure: it lives as long as the connection, and a closure here would keep the
 * whole admission decision's scope alive with it.
 */
export class Admission {
  #open = true;

  constructor(
    private readonly connections: ConnectionCounter,
    private readonly appId: string,
  ) {
    connections.opened(appId);
  }

  release(): void {
    if (!this.#open) return;
    this.#open = false;
    this.connections.closed(this.appId);
  }
}

/**
 * Concurrent connections per app, across the cluster (`maxConnections`). Admits the
 * handshake by counting it as open at once, and returns the function that gives the
 * place back (a later check refused it, or the client left before it connected).
 *
 * The decision adds, at one instant: other nodes' counts (as fresh as their last write;
 * they write each change at once, so two nodes admitting in the same instant can pass
 * the quota by a connection or two), this node's open connections, and this node's older
 * handshakes still deciding. A node never passes the quota on its own, and never counts
 * a socket twice. Before refusing, other nodes are counted again without those known to
 * be dead (their Redis connection closed), so the clients of a crashed node are
 * admitted elsewhere while its lease still runs.
 */
export async function admitWithinQuota(app: AppRuntime, deps: ConnectionLimitDeps): Promise<Admission> {
  const max = app.limits.maxConnections;
  const { connections } = deps;
  const hold = deps.pending.hold(app.appId);
  const admit = () => {
    hold.release();
    return new Admission(connections, app.appId);
  };
  let elsewhere: number;
  try {
    elsewhere = await connections.elsewhere(app.appId);
  } catch (err) {
    warnFailOpen(deps.logger, "connection quota", err, app.appId);
    return admit();
  }
  const total = () => elsewhere + connections.local(app.appId) + hold.ahead();
  // Over? Make sure it is not a dead node's clients being counted twice while they
  // reconnect here, before that node's lease expires. If that check fails (e.g. a Redis
  // that refuses CLIENT LIST), the lease-based count stands.
  if (total() >= max && connections.liveElsewhere) {
    try {
      elsewhere = await connections.liveElsewhere(app.appId);
    } catch (err) {
      warnFailOpen(deps.logger, "live connection count", err, app.appId);
    }
  }
  const count = total();
  if (count >= max) {
    hold.release();
    throw new RelaybaseError(
      "OVER_CONNECTION_QUOTA",
      `This app has ${count} connections; its plan allows ${max}. Upgrade the plan or close connections.`,
    );
  }
  return admit();
}

/** New connections per second to one app from one IP address (`connectionsPerSecondPerIp`). */
export async function checkConnectRate(
  app: AppRuntime,
  ip: string,
  deps: ConnectionLimitDeps,
): Promise<void> {
  const limit = app.limits.connectionsPerSecondPerIp;
  let decision: Awaited<ReturnType<RateLimiter["consume"]>>;
  try {
    decision = await deps.rate.consume({ name: "connect", limit }, `${app.appId}:${ip}`);
  } catch (err) {
    warnFailOpen(deps.logger, "connect rate", err, app.appId);
    return;
  }
  if (!decision.allowed) {
    throw new RelaybaseError(
      "CONNECT_RATE_LIMITED",
      `More than ${limit} new connections per second to this app from ${ip}; retry with backoff.`,
      { retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
    );
  }
}

const FAIL_OPEN_LOG_INTERVAL_MS = 10_000;
const lastFailOpenLog = new Map<string, number>();

/** During an outage every handshake fails the check: log it once per interval per rule. */
function warnFailOpen(logger: Pick<Logger, "warn">, rule: string, err: unknown, appId: string): void {
  const now = Date.now();
  if (now - (lastFailOpenLog.get(rule) ?? 0) < FAIL_OPEN_LOG_INTERVAL_MS) return;
  lastFailOpenLog.set(rule, now);
  logger.warn(
    { err, appId },
    `${rule} not checked: the check failed (repeats muted for ${FAIL_OPEN_LOG_INTERVAL_MS / 1000} s)`,
  );
}

/**
 * The client's IP address: the TCP peer, or, behind `trustProxy` reverse proxies, the
 * address the outermost of them saw (X-Forwarded-For is read from the right, skipping
 * the entries our own proxies added, so a client cannot pick its address by sending
 * the header itself).
 */
export function clientAddress(
  handshake: { address: string; headers: IncomingHttpHeaders },
  trustProxy: number,
): string {
  let address = handshake.address;
  if (trustProxy > 0) {
    const header = handshake.headers["x-forwarded-for"];
    const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const hops = [...forwarded, address];
    address = hops[Math.max(0, hops.length - 1 - trustProxy)] ?? address;
  }
  return address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
}

/**
 * Rooms one connection may be in at once (`roomsPerConnection`). Subscribing again to a
 * room it is already in is free. Check and join run without an await between them, so
 * concurrent subscribes on one socket cannot pass the limit together.
 */
export function checkRoomsPerConnection(socket: RealtimeSocket, app: AppRuntime, key: string): void {
  if (socket.rooms.has(key)) return;
  const prefix = roomKey(app.appId, "");
  let rooms = 0;
  for (const room of socket.rooms) if (room.startsWith(prefix)) rooms++;
  const max = app.limits.roomsPerConnection;
  if (rooms >= max) {
    throw new RelaybaseError(
      "TOO_MANY_SUBSCRIPTIONS",
      `This connection is in ${rooms} rooms; the app's plan allows ${max} per connection. Unsubscribe first.`,
    );
  }
}

/** A connection refused this many times its per-second limit within the window is flooding. */
export const FLOOD_FACTOR = 3;
export const FLOOD_WINDOW_SECONDS = 3;

/**
 * Client publishes per second per connection (`clientPublishesPerSecond`). A socket
 * lives on one node, so its budget is in this node's memory: no Redis round trip per
 * publish. A connection that keeps sending after it is refused (more than
 * FLOOD_FACTOR × its limit refused within FLOOD_WINDOW_SECONDS) gets a RATE_LIMITED
 * `notice` and is disconnected; the SDK reconnects after a backoff.
 */
export class ClientPublishLimits {
  readonly #budgets = new MemoryRateLimiter();
  /** Sockets told to go: one notice each, however many publishes were in flight. */
  readonly #closing = new WeakSet<RealtimeSocket>();

  constructor(private readonly logger: Pick<Logger, "warn">) {}

  async check(socket: RealtimeSocket, app: AppRuntime): Promise<void> {
    const limit = app.limits.clientPublishesPerSecond;
    const decision = await this.#budgets.consume({ name: "client-publish", limit }, socket.id);
    if (decision.allowed) return;
    const refusals = await this.#budgets.consume(
      {
        name: "client-refused",
        limit: Math.max(FLOOD_FACTOR, FLOOD_FACTOR * limit),
        windowSeconds: FLOOD_WINDOW_SECONDS,
      },
      socket.id,
    );
    if (!refusals.allowed) this.#disconnect(socket, app, limit);
    throw new RelaybaseError(
      "RATE_LIMITED",
      `More than ${limit} publishes per second on this connection; slow down.`,
      { retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
    );
  }

  #disconnect(socket: RealtimeSocket, app: AppRuntime, limit: number): void {
    if (!socket.connected || this.#closing.has(socket)) return;
    this.#closing.add(socket);
    this.logger.warn(
      { appId: app.appId, socketId: socket.id },
      "disconnecting a connection that kept flooding",
    );
    socket.emit(
      "notice",
      wireError(
        "RATE_LIMITED",
        `This connection kept publishing after being refused (limit ${limit} per second); it is closed. Reconnect with backoff.`,
      ),
    );
    // After the refusal's ack has gone out (the handler answers right after this returns).
    setImmediate(() => socket.disconnect(true));
  }
}
