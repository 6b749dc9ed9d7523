import {
  type ClientToServerEvents,
  MAX_PRESENCE_PAGE,
  type PresenceEvent,
  type PresenceGetAck,
  type PresenceMember,
  RelaybaseError,
  type ServerToClientEvents,
} from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { backoffDelay } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { toRelaybaseError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";

export type { PresenceMember } from "@relaybase/protocol";

/** What `room.presence.on(…)` handlers receive. */
export interface PresenceEvents<Data = unknown> {
  /** A user entered (their first connection in the room). */
  enter: PresenceMember<Data>;
  /** A member's data changed (or the connection it is shown with). */
  update: PresenceMember<Data>;
  /** A user left (their last connection in the room went, or its grace period ended). */
  leave: PresenceMember<Data>;
  /** The whole member set, fetched again: after `get()` and after every (re)subscribe while someone listens. */
  sync: PresenceMember<Data>[];
}

type RelaybaseSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** @internal What presence needs from its room and client. */
export interface PresenceHost {
  readonly options: ResolvedOptions;
  readonly socket: RelaybaseSocket;
  readonly stopped: boolean;
  report(error: RelaybaseError): void;
}

interface Waiter {
  resolve: () => void;
  reject: (error: RelaybaseError) => void;
}

/**
 * The presence set of one room (`room.presence`). Enter to be in it; subscribe to the room
 * to hear who enters, updates and leaves. One member per user id: a user with several
 * connections is one member. After a reconnect the SDK enters again with the last data.
 *
 * @example
 * const room = client.room("doc:42");
 * room.presence.on("sync", (members) => render(members));
 * room.presence.on("enter", (m) => add(m.userId, m.data));
 * room.presence.on("leave", (m) => remove(m.userId));
 * await room.subscribe();
 * await room.presence.enter({ name: "Alice", color: "teal" });
 */
export class RoomPresence<Data = unknown> {
  readonly #room: string;
  readonly #host: PresenceHost;
  readonly #events = new Emitter<PresenceEvents<Data>>();
  readonly #members = new Map<string, PresenceMember<Data>>();
  /** What this client entered with; undefined when it has not entered (or left). */
  #entered: { data: Data | null } | undefined;
  /** Enters and updates waiting for a connection. */
  #waiting: Waiter[] = [];
  /** `get()` calls waiting for a connection. */
  #readers: Waiter[] = [];
  /** Left while offline: a recovered connection may still be in the set. */
  #leaveOnConnect = false;
  #synced = false;
  #syncing: Promise<PresenceMember<Data>[]> | undefined;
  /** Changes that arrived while a sync was reading pages, applied on top of them. */
  #buffered: PresenceEvent[] | undefined;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Use `room.presence`. */
  constructor(room: string, host: PresenceHost) {
    this.#room = room;
    this.#host = host;
  }

  /** The members as this client last learnt them (from `get()`/`sync` and later changes). */
  get members(): PresenceMember<Data>[] {
    return [...this.#members.values()];
  }

  /** Whether this client is (or is about to be, once connected) in the room's presence set. */
  get entered(): boolean {
    return this.#entered !== undefined;
  }

  /**
   * Enters the room's presence set with member data (any JSON up to 1 KiB). Needs a token
   * with a user id and the `presence` capability on the room. Resolves once the server
   * confirmed; while disconnected it waits for the connection. Entering again replaces the
   * data. Rejects with `PRESENCE_USER_REQUIRED`, `CAPABILITY_DENIED`, `PRESENCE_ROOM_FULL`,
   * `PRESENCE_DATA_TOO_LARGE`, …
   */
  enter(data?: Data): Promise<void> {
    return this.#set("presence.enter", data);
  }

  /** Replaces this client's member data (enters when it has not entered). */
  update(data: Data): Promise<void> {
    return this.#set("presence.update", data);
  }

  /** Leaves the presence set. The user stays a member while another of their connections is in it. */
  async leave(): Promise<void> {
    const wasEntered = this.#entered !== undefined;
    this.#entered = undefined;
    clearTimeout(this.#retryTimer);
    this.#rejectWaiting(new RelaybaseError("UNAVAILABLE", "leave() was called before the enter completed."));
    if (!wasEntered) return;
    if (!this.#host.socket.connected) {
      this.#leaveOnConnect = true;
      return;
    }
    await this.#request("presence.leave", { room: this.#room });
  }

  /**
   * Every member of the room now, fetched from the server page by page. Also replaces
   * `members` and emits `sync`. Needs `presence` or `subscribe` on the room.
   */
  get(): Promise<PresenceMember<Data>[]> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  /**
   * Listens to `enter`, `update`, `leave` (changes, while the room is subscribed) and `sync`
   * (the whole set). Listening makes the SDK fetch the set after every (re)subscribe.
   * Returns a function that removes the handler.
   */
  on<K extends keyof PresenceEvents<Data>>(
    event: K,
    handler: (payload: PresenceEvents<Data>[K]) => void,
  ): () => void {
    return this.#events.on(event, handler);
  }

  /** @internal The socket (re)connected: enter again with the last data. */
  _connected(): void {
    const readers = this.#readers;
    this.#readers = [];
    for (const r of readers) r.resolve();
    clearTimeout(this.#retryTimer);
    this.#attempt = 0;
    if (this.#leaveOnConnect) {
      this.#leaveOnConnect = false;
      if (!this.#entered) void this.#request("presence.leave", { room: this.#room }).catch(() => {});
    }
    if (this.#entered) this.#sendEnter();
  }

  /** @internal The room was (re)subscribed: changes may have been missed, fetch the set again. */
  _subscribed(): void {
    const listening = (["enter", "update", "leave", "sync"] as const).some(
      (e) => this.#events.listenerCount(e) > 0,
    );
    if (listening || this.#synced) void this.get().catch((error: RelaybaseError) => this.#host.report(error));
  }

  /** @internal A `presence` event for this room arrived. */
  _event(event: PresenceEvent): void {
    if (this.#buffered) this.#buffered.push(event);
    this.#apply(event, true);
  }

  /** @internal The client closed or failed. */
  _stop(error: RelaybaseError): void {
    clearTimeout(this.#retryTimer);
    this.#rejectWaiting(error);
    const readers = this.#readers;
    this.#readers = [];
    for (const r of readers) r.reject(error);
  }

  #set(event: "presence.enter" | "presence.update", data: Data | undefined): Promise<void> {
    if (this.#host.stopped) {
      return Promise.reject(new RelaybaseError("UNAVAILABLE", "The client is closed; call connect() first."));
    }
    this.#entered = { data: data === undefined ? null : data };
    this.#leaveOnConnect = false;
    if (!this.#host.socket.connected) {
      return new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    }
    const entered = this.#entered;
    return this.#request(event, { room: this.#room, data: entered.data }).then(
      () => {},
      (error: RelaybaseError) => {
        if (this.#entered !== entered) throw error;
        if (error.retry === "never") {
          this.#entered = undefined;
          throw error;
        }
        // Transient (a timeout, Redis away, a rate limit): keep trying; resolves once in.
        return new Promise<void>((resolve, reject) => {
          this.#waiting.push({ resolve, reject });
          this.#retryEnter();
        });
      },
    );
  }

  /** Enters with the remembered data: after a reconnect, or for enters that waited. Retries what may pass later. */
  #sendEnter(): void {
    const entered = this.#entered;
    if (!entered || !this.#host.socket.connected) return;
    this.#request("presence.enter", { room: this.#room, data: entered.data }).then(
      () => {
        this.#attempt = 0;
        const waiting = this.#waiting;
        this.#waiting = [];
        for (const w of waiting) w.resolve();
      },
      (error: RelaybaseError) => {
        if (this.#entered !== entered) return;
        if (error.retry === "never") {
          this.#entered = undefined;
          if (this.#waiting.length > 0) this.#rejectWaiting(error);
          else this.#host.report(error);
          return;
        }
        this.#retryEnter();
      },
    );
  }

  #retryEnter(): void {
    const { reconnectionDelayMs, reconnectionDelayMaxMs } = this.#host.options;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(
      () => this.#sendEnter(),
      backoffDelay(this.#attempt++, reconnectionDelayMs, reconnectionDelayMaxMs),
    );
  }

  async #sync(): Promise<PresenceMember<Data>[]> {
    if (this.#host.stopped)
      throw new RelaybaseError("UNAVAILABLE", "The client is closed; call connect() first.");
    if (!this.#host.socket.connected)
      await new Promise<void>((resolve, reject) => this.#readers.push({ resolve, reject }));
    this.#buffered = [];
    try {
      const all: PresenceMember<Data>[] = [];
      let cursor: string | undefined;
      do {
        const payload = { room: this.#room, limit: MAX_PRESENCE_PAGE, ...(cursor ? { cursor } : {}) };
        const ack = (await this.#request("presence.get", payload)) as Extract<PresenceGetAck, { ok: true }>;
        all.push(...(ack.members as PresenceMember<Data>[]));
        cursor = ack.nextCursor;
      } while (cursor);
      this.#members.clear();
      for (const m of all) this.#members.set(m.userId, m);
      for (const event of this.#buffered) this.#apply(event, false);
      this.#synced = true;
      const members = this.members;
      this.#events.emit("sync", members);
      return members;
    } finally {
      this.#buffered = undefined;
    }
  }

  #apply(event: PresenceEvent, emit: boolean): void {
    const member = event.member as PresenceMember<Data>;
    if (event.action === "leave") this.#members.delete(member.userId);
    else this.#members.set(member.userId, member);
    if (emit) this.#events.emit(event.action, member);
  }

  async #request(
    event: "presence.enter" | "presence.update" | "presence.leave" | "presence.get",
    payload: object,
  ) {
    const socket = this.#host.socket;
    if (!socket.connected) throw new RelaybaseError("UNAVAILABLE", "Not connected.");
    let ack: Awaited<ReturnType<typeof socket.emitWithAck>>;
    try {
      ack = await socket
        .timeout(this.#host.options.ackTimeoutMs)
        .emitWithAck(event as "presence.get", payload as { room: string });
    } catch (err) {
      throw new RelaybaseError("TIMEOUT", `${event} was not acknowledged: ${(err as Error).message}`);
    }
    if (!ack.ok) throw toRelaybaseError(ack.error);
    return ack;
  }

  #rejectWaiting(error: RelaybaseError): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w.reject(error);
  }
}
