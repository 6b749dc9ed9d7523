import { isValidRoomName, RelaybaseError } from "@relaybase/protocol";

/**
 * Room occupancy: how many connections are subscribed to each room of an app, across the
 * cluster (docs/rest-api.md "Rooms"). A node counts its own subscriptions (`joined` /
 * `left`, called from its Socket.IO adapter's room events, so every way a socket enters or
 * leaves a room is counted once); a reader sums every live node. In memory when embedded
 * (`MemoryRoomOccupancy`); in Redis under per-node leases in a cluster (redis-kit
 * `RedisRoomOccupancy`), so a node killed with `kill -9` stops counting within its lease.
 *
 * A room is **occupied** while at least one connection is subscribed to it. Presence members
 * do not occupy a room (a client may enter without subscribing); readers that want them ask
 * the presence store.
 */

/** One occupied room: its name as clients use it and its subscribers on every live node. */
export interface RoomCount {
  room: string;
  subscribers: number;
}

export interface RoomListPage {
  /** Ordered by room name (byte order). */
  rooms: RoomCount[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  nextCursor?: string;
}

export interface RoomListOptions {
  /** Only rooms whose name starts with this (itself a valid room name, or absent). */
  prefix?: string | undefined;
  /** @default DEFAULT_ROOM_LIST_PAGE */
  limit?: number | undefined;
  /** A `nextCursor` from an earlier page with the same prefix. */
  cursor?: string | undefined;
}

/** The read side: what the REST API, webhooks and the console need. */
export interface RoomOccupancyReader {
  /** One page of the app's occupied rooms. Throws `BAD_REQUEST` / `INVALID_ROOM_NAME` on bad options. */
  list(appId: string, options?: RoomListOptions): Promise<RoomListPage>;
  /** Subscribers of one room on every live node; 0 when nobody is subscribed. */
  subscribers(appId: string, room: string): Promise<number>;
}

/** The write side, fed by one node's subscriptions. */
export interface RoomOccupancy extends RoomOccupancyReader {
  /** A connection of this node subscribed to the room (synchronous and cheap: the hot path). */
  joined(appId: string, room: string): void;
  /** A connection of this node left the room (unsubscribed, disconnected, lost the capability). */
  left(appId: string, room: string): void;
  /** This node's count of the room's subscribers, now. */
  local(appId: string, room: string): number;
  /** Stops counting; a cluster store withdraws this node's counts. */
  close(): Promise<void>;
}

export const DEFAULT_ROOM_LIST_PAGE = 100;
export const MAX_ROOM_LIST_PAGE = 1_000;
/** Longest cursor accepted: base64url of a 200-character room name. */
export const MAX_ROOM_CURSOR_LENGTH = 272;

/** The checked form of list options: a limit, and the exclusive lower bound a cursor names. */
export interface RoomListQuery {
  prefix: string;
  limit: number;
  /** List rooms strictly after this name (from the cursor), or from the start of the prefix. */
  after: string | undefined;
}

/** Validates list options once for every implementation. */
export function roomListQuery(options: RoomListOptions = {}): RoomListQuery {
  const { prefix = "", limit = DEFAULT_ROOM_LIST_PAGE, cursor } = options;
  if (prefix !== "" && !isValidRoomName(prefix)) {
    throw new RelaybaseError(
      "INVALID_ROOM_NAME",
      "A room prefix follows the room name rules (docs/protocol.md).",
    );
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ROOM_LIST_PAGE) {
    throw new RelaybaseError("BAD_REQUEST", `A room page holds 1-${MAX_ROOM_LIST_PAGE} rooms.`);
  }
  let after: string | undefined;
  if (cursor !== undefined) {
    after = /^[A-Za-z0-9_-]{1,272}$/.test(cursor) ? Buffer.from(cursor, "base64url").toString("utf8") : "";
    // A cursor names a room of this listing: anything else was not made by us (or by another prefix).
    if (!isValidRoomName(after) || !after.startsWith(prefix)) {
      throw new RelaybaseError("BAD_REQUEST", "Unknown room cursor.");
    }
  }
  return { prefix, limit, after };
}

/** Cursors are opaque to clients: the last room of a page, base64url. */
export function encodeRoomCursor(room: string): string {
  return Buffer.from(room, "utf8").toString("base64url");
}

/** The page of `limit` rooms out of a sorted, longer candidate list. */
export function roomPage(sorted: RoomCount[], limit: number): RoomListPage {
  const rooms = sorted.slice(0, limit);
  const last = rooms.at(-1);
  return sorted.length > limit && last ? { rooms, nextCursor: encodeRoomCursor(last.room) } : { rooms };
}

/** Byte order of room names (ASCII): the order Redis's ZRANGEBYLEX uses too. */
export function byRoomName(a: RoomCount, b: RoomCount): number {
  return a.room < b.room ? -1 : a.room > b.room ? 1 : 0;
}

/** One process: this node's subscriptions are the whole count. */
export class MemoryRoomOccupancy implements RoomOccupancy {
  /** appId → room → subscribers on this node. */
  protected readonly localByApp = new Map<string, Map<string, number>>();

  joined(appId: string, room: string): void {
    let rooms = this.localByApp.get(appId);
    if (!rooms) {
      rooms = new Map();
      this.localByApp.set(appId, rooms);
    }
    rooms.set(room, (rooms.get(room) ?? 0) + 1);
  }

  left(appId: string, room: string): void {
    const rooms = this.localByApp.get(appId);
    const next = (rooms?.get(room) ?? 0) - 1;
    if (!rooms) return;
    if (next > 0) rooms.set(room, next);
    else {
      rooms.delete(room);
      if (rooms.size === 0) this.localByApp.delete(appId);
    }
  }

  local(appId: string, room: string): number {
    return this.localByApp.get(appId)?.get(room) ?? 0;
  }

  async list(appId: string, options?: RoomListOptions): Promise<RoomListPage> {
    const { prefix, limit, after } = roomListQuery(options);
    const rooms: RoomCount[] = [];
    for (const [room, subscribers] of this.localByApp.get(appId) ?? []) {
      if (room.startsWith(prefix) && (after === undefined || room > after)) rooms.push({ room, subscribers });
    }
    return roomPage(rooms.sort(byRoomName), limit);
  }

  async subscribers(appId: string, room: string): Promise<number> {
    return this.local(appId, room);
  }

  async close(): Promise<void> {}
}
