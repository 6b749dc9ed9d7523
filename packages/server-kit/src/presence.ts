import {
  DEFAULT_PRESENCE_PAGE,
  exceedsDepth,
  MAX_PRESENCE_DATA_BYTES,
  MAX_PRESENCE_PAGE,
  messageSize,
  type PresenceAction,
  type PresenceMember,
  type PresencePage,
  RelaybaseError,
} from "@relaybase/protocol";
import type { Logger } from "./logger.js";
import { PLANS } from "./plans.js";
import { roomKey } from "./rooms.js";
import type { AppRuntime } from "./tenant-directory.js";

/**
 * Presence (DESIGN §9, docs/presence.md). A node holds the entries of its own connections
 * (`NodePresence`); a `PresenceStore` holds every node's entries and answers for the room:
 * one member per `userId`, shown with the data of the user's connection that entered or
 * updated last, leaving with the user's last connection. In memory when embedded; in
 * Redis under per-node leases in a cluster (redis-kit `RedisPresence`).
 */

/** One connection's entry in one room. */
export interface PresenceEntry {
  appId: string;
  room: string;
  userId: string;
  connectionId: string;
  /** The member data as JSON text (already validated). */
  data: string;
  /** When the connection entered or last updated, ms since the epoch: the newest of a user's entries is shown. */
  ts: number;
}

/** A change of a room's member set, to announce to the room's subscribers. */
export interface PresenceChange {
  appId: string;
  room: string;
  action: PresenceAction;
  member: PresenceMember;
}

export interface PresencePageOptions {
  /** A `nextCursor` from an earlier page. */
  cursor?: string | undefined;
  /** @default DEFAULT_PRESENCE_PAGE */
  limit?: number | undefined;
}

/** The read side: what REST and `presence.get` need. */
export interface PresenceReader {
  /** One page of the room's members, ordered by `userId`. */
  page(appId: string, room: string, options?: PresencePageOptions): Promise<PresencePage>;
  /** Members (distinct users) in the room. */
  count(appId: string, room: string): Promise<number>;
}

/** What a store needs from the node that owns it. */
export interface PresenceOwner {
  /** Every entry this node holds: re-asserted after the store lost them (Redis flushed or restarted). */
  entries(): Iterable<PresenceEntry>;
  /** A change the store found by itself (a dead node's members leaving): the node announces it. */
  announce(change: PresenceChange): void;
}

export interface PresenceStore extends PresenceReader {
  /**
   * Adds or replaces one connection's entry. Returns the change the room's subscribers must
   * see (`enter` for a user new to the room, `update` when the member shown changed), or
   * undefined. Throws `PRESENCE_ROOM_FULL` for a new user when the room has `maxMembers`.
   */
  put(entry: PresenceEntry, maxMembers: number): Promise<PresenceChange | undefined>;
  /** Removes one connection's entry; `leave` when it was the user's last, maybe `update`. */
  remove(entry: PresenceEntry): Promise<PresenceChange | undefined>;
  /** Called once, by the `NodePresence` that owns this store. */
  attach(owner: PresenceOwner): void;
  close(): Promise<void>;
}

/** The default grace period: a connection that drops is still present this long (docs/presence.md). */
export const DEFAULT_PRESENCE_GRACE_MS = 5_000;

/** The app's member limit per room; directory records from before the limit existed get their plan's. */
export function presenceMembersPerRoom(app: AppRuntime): number {
  return (
    app.limits.presenceMembersPerRoom ??
    PLANS[app.plan]?.presenceMembersPerRoom ??
    PLANS.free.presenceMembersPerRoom
  );
}

/** The member a user's entries show: the newest (ties: the larger connection id). */
export function shownEntry<T extends { ts: number; connectionId: string }>(
  entries: Iterable<T>,
): T | undefined {
  let best: T | undefined;
  for (const e of entries) {
    if (!best || e.ts > best.ts || (e.ts === best.ts && e.connectionId > best.connectionId)) best = e;
  }
  return best;
}

export function memberOf(userId: string, connectionId: string, data: string): PresenceMember {
  return { userId, connectionId, data: JSON.parse(data) as unknown };
}

/** Cursors are opaque to clients: the last `userId` of a page, base64url. */
export function encodePresenceCursor(userId: string): string {
  return Buffer.from(userId, "utf8").toString("base64url");
}

export function decodePresenceCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new RelaybaseError("BAD_REQUEST", "Unknown presence cursor.");
  return Buffer.from(cursor, "base64url").toString("utf8");
}

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PRESENCE_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PRESENCE_PAGE) {
    throw new RelaybaseError("BAD_REQUEST", `A presence page holds 1-${MAX_PRESENCE_PAGE} members.`);
  }
  return limit;
}

/** Member data as stored: checked for depth first (cheap, and keeps encoders safe), then size. */
export function presenceDataText(data: unknown): string {
  const value = data === undefined ? null : data;
  if (exceedsDepth(value)) throw new RelaybaseError("DATA_TOO_DEEP");
  if (messageSize(value) > MAX_PRESENCE_DATA_BYTES) throw new RelaybaseError("PRESENCE_DATA_TOO_LARGE");
  return JSON.stringify(value);
}

/** The embedded store: one process holds every member. */
export class MemoryPresenceStore implements PresenceStore {
  /** roomKey → userId → connectionId → entry. */
  readonly #rooms = new Map<string, Map<string, Map<string, PresenceEntry>>>();

  attach(_owner: PresenceOwner): void {}

  async put(entry: PresenceEntry, maxMembers: number): Promise<PresenceChange | undefined> {
    const key = roomKey(entry.appId, entry.room);
    let users = this.#rooms.get(key);
    const conns = users?.get(entry.userId);
    if (!conns && (users?.size ?? 0) >= maxMembers) throw new RelaybaseError("PRESENCE_ROOM_FULL");
    if (!users) {
      users = new Map();
      this.#rooms.set(key, users);
    }
    const before = conns ? shownEntry(conns.values()) : undefined;
    const next = conns ?? new Map<string, PresenceEntry>();
    next.set(entry.connectionId, { ...entry });
    users.set(entry.userId, next);
    return changeOf(entry, before, shownEntry(next.values()));
  }

  async remove(entry: PresenceEntry): Promise<PresenceChange | undefined> {
    const key = roomKey(entry.appId, entry.room);
    const users = this.#rooms.get(key);
    const conns = users?.get(entry.userId);
    if (!users || !conns?.has(entry.connectionId)) return undefined;
    const before = shownEntry(conns.values());
    conns.delete(entry.connectionId);
    if (conns.size === 0) {
      users.delete(entry.userId);
      if (users.size === 0) this.#rooms.delete(key);
    }
    return changeOf(entry, before, shownEntry(conns.values()));
  }

  async page(appId: string, room: string, options: PresencePageOptions = {}): Promise<PresencePage> {
    const limit = pageLimit(options.limit);
    const after = decodePresenceCursor(options.cursor);
    const users = this.#rooms.get(roomKey(appId, room));
    if (!users) return { members: [] };
    const ids = [...users.keys()].filter((u) => after === undefined || u > after).sort();
    const members = ids.slice(0, limit).map((userId) => {
      const shown = shownEntry(users.get(userId)!.values())!;
      return memberOf(userId, shown.connectionId, shown.data);
    });
    const last = members.at(-1);
    return ids.length > limit && last
      ? { members, nextCursor: encodePresenceCursor(last.userId) }
      : { members };
  }

  async count(appId: string, room: string): Promise<number> {
    return this.#rooms.get(roomKey(appId, room))?.size ?? 0;
  }

  async close(): Promise<void> {}
}

/** What a change of one user's entries looks like to the room: the member shown before and after. */
export function changeOf(
  entry: Pick<PresenceEntry, "appId" | "room" | "userId">,
  before: Pick<PresenceEntry, "connectionId" | "data"> | undefined,
  after: Pick<PresenceEntry, "connectionId" | "data"> | undefined,
): PresenceChange | undefined {
  const { appId, room, userId } = entry;
  if (!before && after)
    return { appId, room, action: "enter", member: memberOf(userId, after.connectionId, after.data) };
  if (before && !after)
    return { appId, room, action: "leave", member: memberOf(userId, before.connectionId, before.data) };
  if (before && after && (before.connectionId !== after.connectionId || before.data !== after.data)) {
    return { appId, room, action: "update", member: memberOf(userId, after.connectionId, after.data) };
  }
  return undefined;
}

export interface NodePresenceOptions {
  store?: PresenceStore;
  /** A connection that drops without saying goodbye is still present this long. @default DEFAULT_PRESENCE_GRACE_MS */
  graceMs?: number;
  /** Sends a change to the room's subscribers (the node's adapter broadcast). */
  announce(change: PresenceChange): void;
  logger: Pick<Logger, "warn">;
}

export interface EnterRequest {
  app: AppRuntime;
  room: string;
  /** The connection's user (the token's `sub`); presence refuses connections without one. */
  userId: string | undefined;
  connectionId: string;
  data: unknown;
}

/** How long a failed removal waits before it is tried again (the store was unreachable). */
const REMOVE_RETRY_MS = 1_000;

/**
 * The presence of one node's connections: what they entered, their grace periods, and
 * the store calls that turn them into room changes, announced through `announce`.
 */
export class NodePresence implements PresenceReader {
  readonly store: PresenceStore;
  readonly graceMs: number;
  readonly #announce: (change: PresenceChange) => void;
  readonly #logger: Pick<Logger, "warn">;
  /** connectionId → roomKey → entry. */
  readonly #byConnection = new Map<string, Map<string, PresenceEntry>>();
  readonly #graceTimers = new Map<string, NodeJS.Timeout>();
  readonly #retryTimers = new Set<NodeJS.Timeout>();
  #closed = false;
  #lastTs = 0;

  constructor(options: NodePresenceOptions) {
    this.store = options.store ?? new MemoryPresenceStore();
    this.graceMs = options.graceMs ?? DEFAULT_PRESENCE_GRACE_MS;
    this.#announce = options.announce;
    this.#logger = options.logger;
    this.store.attach({
      entries: () => this.#entries(),
      announce: (change) => this.#announce(change),
    });
  }

  /** Enters the room, or replaces this connection's data in it (`presence.enter` and `presence.update`). */
  async enter(req: EnterRequest): Promise<void> {
    const { app, room, userId, connectionId } = req;
    if (userId === undefined) throw new RelaybaseError("PRESENCE_USER_REQUIRED");
    const data = presenceDataText(req.data);
    const key = roomKey(app.appId, room);
    let rooms = this.#byConnection.get(connectionId);
    const previous = rooms?.get(key);
    if (!previous && (rooms?.size ?? 0) >= app.limits.roomsPerConnection) {
      throw new RelaybaseError(
        "TOO_MANY_SUBSCRIPTIONS",
        "This connection is present in as many rooms as the app's plan allows (roomsPerConnection).",
      );
    }
    // Strictly increasing on this node, so the later of two enters is always the one shown.
    this.#lastTs = Math.max(Date.now(), this.#lastTs + 1);
    const entry: PresenceEntry = { appId: app.appId, room, userId, connectionId, data, ts: this.#lastTs };
    // Held here before the store answers: a disconnect meanwhile must still remove it.
    if (!rooms) {
      rooms = new Map();
      this.#byConnection.set(connectionId, rooms);
    }
    rooms.set(key, entry);
    let change: PresenceChange | undefined;
    try {
      change = await this.store.put(entry, presenceMembersPerRoom(app));
    } catch (err) {
      // Refused: not stored, forget it. Any other failure (Redis, a timeout) may have stored
      // it: it stays held, so that the connection's goodbye removes it either way.
      const refused = err instanceof RelaybaseError && err.code === "PRESENCE_ROOM_FULL";
      if (refused && rooms.get(key) === entry) {
        if (previous) rooms.set(key, previous);
        else this.#forget(connectionId, key);
      }
      throw err;
    }
    if (change) this.#announce(change);
  }

  /** This connection leaves the room now (`presence.leave`); a no-op when it is not in it. */
  async leave(appId: string, room: string, connectionId: string): Promise<void> {
    const key = roomKey(appId, room);
    const entry = this.#byConnection.get(connectionId)?.get(key);
    if (!entry) return;
    this.#forget(connectionId, key);
    await this.#remove(entry, true);
  }

  /**
   * The connection is gone. Said goodbye (`immediate`): its entries go now. Dropped: they
   * stay for the grace period, so a reconnect that enters again shows no leave and enter.
   */
  disconnected(connectionId: string, immediate: boolean): void {
    if (!this.#byConnection.has(connectionId)) return;
    clearTimeout(this.#graceTimers.get(connectionId));
    if (immediate || this.graceMs === 0) {
      this.#graceTimers.delete(connectionId);
      this.#removeConnection(connectionId);
      return;
    }
    const timer = setTimeout(() => {
      this.#graceTimers.delete(connectionId);
      this.#removeConnection(connectionId);
    }, this.graceMs);
    timer.unref();
    this.#graceTimers.set(connectionId, timer);
  }

  /** New credentials (a refreshed token, a recovered connection): leaves the rooms `allowed` no longer allows. */
  async retain(connectionId: string, allowed: (room: string) => boolean): Promise<void> {
    const rooms = this.#byConnection.get(connectionId);
    if (!rooms) return;
    for (const [key, entry] of [...rooms]) {
      if (allowed(entry.room)) continue;
      this.#forget(connectionId, key);
      await this.#remove(entry, false);
    }
  }

  /** The connection is back on this node with the same id (Socket.IO recovery): its entries stay. */
  reconnected(connectionId: string): void {
    clearTimeout(this.#graceTimers.get(connectionId));
    this.#graceTimers.delete(connectionId);
  }

  page(appId: string, room: string, options?: PresencePageOptions): Promise<PresencePage> {
    return this.store.page(appId, room, options);
  }

  count(appId: string, room: string): Promise<number> {
    return this.store.count(appId, room);
  }

  /**
   * Stops the timers and closes the store. Entries are not withdrawn: clients of a
   * draining node enter again elsewhere, and what is left lapses with the node's lease.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#graceTimers.values()) clearTimeout(timer);
    for (const timer of this.#retryTimers) clearTimeout(timer);
    this.#graceTimers.clear();
    this.#retryTimers.clear();
    await this.store.close();
  }

  *#entries(): Iterable<PresenceEntry> {
    for (const rooms of this.#byConnection.values()) yield* rooms.values();
  }

  #forget(connectionId: string, key: string): void {
    const rooms = this.#byConnection.get(connectionId);
    rooms?.delete(key);
    if (rooms?.size === 0) this.#byConnection.delete(connectionId);
  }

  #removeConnection(connectionId: string): void {
    const rooms = this.#byConnection.get(connectionId);
    if (!rooms) return;
    this.#byConnection.delete(connectionId);
    for (const entry of rooms.values()) void this.#remove(entry, false);
  }

  /**
   * Removes from the store and announces. A removal the store refused is retried until it
   * succeeds (else the entry would outlive its connection as long as this node lives);
   * `report`: the caller also hears of the failure.
   */
  async #remove(entry: PresenceEntry, report: boolean): Promise<void> {
    try {
      const change = await this.store.remove(entry);
      if (change) this.#announce(change);
    } catch (err) {
      if (!this.#closed) this.#retryRemove(entry, err);
      if (report) throw err;
    }
  }

  #retryRemove(entry: PresenceEntry, err: unknown): void {
    this.#logger.warn({ err, appId: entry.appId }, "presence removal failed; retrying");
    const timer = setTimeout(() => {
      this.#retryTimers.delete(timer);
      void this.#remove(entry, false);
    }, REMOVE_RETRY_MS);
    timer.unref();
    this.#retryTimers.add(timer);
  }
}
