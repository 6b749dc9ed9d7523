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
  /**
   * Oldest first, from `head` on. Trimming moves `head` instead of shifting the array
   * (`splice(0, n)` on every append was O(kept entries)); the trimmed slots are cleared
   * and dropped in bulk by `#trim` once they are half the array.
   */
  entries: (StoredMessage | undefined)[];
  head: number;
  ids: Map<string, number>;
}

/** Trimmed slots tolerated before the array is compacted (and at least half of it). */
const COMPACT_AFTER = 1024;

/** The entries a room keeps, oldest first. */
const kept = (room: RoomState): StoredMessage[] => room.entries.slice(room.head) as StoredMessage[];

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
      const stored = room.entries[room.head + existing - (room.entries[room.head]?.offset ?? existing)];
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
    const oldest = room.entries[room.head]?.offset ?? room.offset + 1;
    // Everything after `since` must still be here: the next one it needs is since+1.
    const recovered = since.offset + 1 >= oldest;
    const messages = kept(room).filter((m) => m.offset > since.offset);
    return { position, recovered, messages: recovered ? messages : [] };
  }

  async read(roomKey: string, query: HistoryQuery, limits: RetentionLimits): Promise<HistoryRead> {
    const room = this.#room(roomKey);
    this.#trim(room, limits);
    const position = { offset: room.offset, epoch: room.epoch };
    const limit = Math.max(0, Math.floor(query.limit));
    const messages =
      query.direction === "forward"
        ? kept(room)
            .filter((m) => m.offset > (query.since ?? 0))
            .slice(0, limit)
        : kept(room)
            .filter((m) => m.offset < (query.since ?? room.offset + 1))
            .reverse()
            .slice(0, limit);
    return { position, messages };
  }

  #room(roomKey: string): RoomState {
    let room = this.#rooms.get(roomKey);
    if (!room) {
      room = { epoch: randomId(8), offset: 0, entries: [], head: 0, ids: new Map() };
      this.#rooms.set(roomKey, room);
    }
    return room;
  }

  #trim(room: RoomState, limits: RetentionLimits): void {
    const oldestTs = this.#now() - limits.ttlMs;
    const { entries, head } = room;
    const count = entries.length - head;
    let drop = Math.max(0, count - limits.maxEntries);
    while (drop < count && (entries[head + drop]?.ts ?? Infinity) < oldestTs) drop++;
    if (drop === 0) return;
    for (let i = head; i < head + drop; i++) {
      room.ids.delete(entries[i]!.id);
      entries[i] = undefined;
    }
    room.head = head + drop;
    if (room.head >= COMPACT_AFTER && room.head * 2 >= entries.length) {
      room.entries = entries.slice(room.head);
      room.head = 0;
    }
  }
}
