import type { HistoryDirection, MessageSource, Position } from "@relaybase/protocol";
import { randomId } from "./keys.js";

/** A message as kept in a room's history (the room itself is the history's key). */
export interface StoredMessage {
  id: string;
  event: string;
  data: unknown;
  ts: number;
  offset: number;
  from?: MessageSource;
}

export type AppendResult =
  | { offset: number; epoch: string; duplicate: false }
  /**
   * A message with this id was already in the room: nothing was added, and `stored` is
   * that first message (what a retry must deliver, never the retry's own body). It is
   * absent only if the entry was trimmed in the same instant.
   */
  | { offset: number; epoch: string; duplicate: true; stored?: StoredMessage };

export interface Replay {
  position: Position;
  /** True when `messages` holds everything after the asked position. */
  recovered: boolean;
  messages: StoredMessage[];
}

/** One page of a room's history to read (`RoomHistory.read`). */
export interface HistoryQuery {
  /**
   * Exclusive bound. `forward`: offsets after it, oldest first (default 0, from the
   * oldest kept). `backward`: offsets before it, newest first (default: from the newest).
   */
  since?: number;
  /** Most messages in the page. */
  limit: number;
  direction: HistoryDirection;
}

export interface HistoryRead {
  /** The room's current offset and epoch. */
  position: Position;
  /** In the query's direction; only what the room still keeps. */
  messages: StoredMessage[];
}

export interface RetentionLimits {
  /** Most messages kept per room. */
  maxEntries: number;
  /** Oldest message kept, in milliseconds. */
  ttlMs: number;
}

/**
 * Positioned per-room history (DESIGN §5, layer 2). The offset and the stored entry are
 * written together, so a message that has an offset is always replayable while it is
 * within the room's retention. Embedded: `MemoryRoomHistory`; distributed: a Redis
 * stream per room behind this same interface.
 */
export interface RoomHistory {
  append(
    roomKey: string,
    message: Omit<StoredMessage, "offset">,
    limits: RetentionLimits,
  ): Promise<AppendResult>;
  position(roomKey: string): Promise<Position>;
  since(roomKey: string, since: Position, limits: RetentionLimits): Promise<Replay>;
  /** One page of what the room keeps, by offset, with its position (the history API). */
  read(roomKey: string, query: HistoryQuery, limits: RetentionLimits): Promise<HistoryRead>;
}

interface RoomState {
  epoch: string;
  offset: number;
  /** Oldest first. */
  entries: StoredMessage[];
  ids: Map<string, number>;
}

/**
 * In-process history. Rooms keep their offset and epoch for the life of the process
 * (a few dozen bytes each); entries are trimmed by count and age. A restart loses
 * everything, and new epochs tell clients so.
 */
export class MemoryRoomHistory implements RoomHistory {
  readonly #rooms = new Map<string, RoomState>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async append(
    roomKey: string,
    message: Omit<StoredMessage, "offset">,
    limits: RetentionLimits,
  ): Promise<AppendResult> {
    const room = this.#room(roomKey);
    this.#trim(room, limits);
    const existing = room.ids.get(message.id);
    if (existing !== undefined) {
      // Offsets in `entries` are contiguous, so the first message is found by position.
      const stored = room.entries[existing - (room.entries[0]?.offset ?? existing)];
      return { offset: existing, epoch: room.epoch, duplicate: true, ...(stored ? { stored } : {}) };
    }
    room.offset += 1;
    room.entries.push({ ...message, offset: room.offset });
    room.ids.set(message.id, room.offset);
    this.#trim(room, limits);
    return { offset: room.offset, epoch: room.epoch, duplicate: false };
  }

  async position(roomKey: string): Promise<Position> {
    const room = this.#room(roomKey);
    return { offset: room.offset, epoch: room.epoch };
  }

  async since(roomKey: string, since: Position, limits: RetentionLimits): Promise<Replay> {
    const room = this.#room(roomKey);
    this.#trim(room, limits);
    const position = { offset: room.offset, epoch: room.epoch };
    if (since.epoch !== room.epoch || since.offset > room.offset) {
      return { position, recovered: false, messages: [] };
    }
    const oldest = room.entries[0]?.offset ?? room.offset + 1;
    // Everything after `since` must still be here: the next one it needs is since+1.
    const recovered = since.offset + 1 >= oldest;
    const messages = room.entries.filter((m) => m.offset > since.offset);
    return { position, recovered, messages: recovered ? messages : [] };
  }

  async read(roomKey: string, query: HistoryQuery, limits: RetentionLimits): Promise<HistoryRead> {
    const room = this.#room(roomKey);
    this.#trim(room, limits);
    const position = { offset: room.offset, epoch: room.epoch };
    const limit = Math.max(0, Math.floor(query.limit));
    const messages =
      query.direction === "forward"
        ? room.entries.filter((m) => m.offset > (query.since ?? 0)).slice(0, limit)
        : room.entries
            .filter((m) => m.offset < (query.since ?? room.offset + 1))
            .reverse()
            .slice(0, limit);
    return { position, messages };
  }

  #room(roomKey: string): RoomState {
    let room = this.#rooms.get(roomKey);
    if (!room) {
      room = { epoch: randomId(8), offset: 0, entries: [], ids: new Map() };
      this.#rooms.set(roomKey, room);
    }
    return room;
  }

  #trim(room: RoomState, limits: RetentionLimits): void {
    const oldestTs = this.#now() - limits.ttlMs;
    let drop = Math.max(0, room.entries.length - limits.maxEntries);
    while (drop < room.entries.length && (room.entries[drop]?.ts ?? Infinity) < oldestTs) drop++;
    if (drop === 0) return;
    for (const m of room.entries.slice(0, drop)) room.ids.delete(m.id);
    room.entries.splice(0, drop);
  }
}
