import {
  type ClientToServerEvents,
  type HistoryDirection,
  type HistoryPage,
  MAX_HISTORY_PAGE,
  type MessageEnvelope,
  type Position,
  type PresenceEvent,
  RelaybaseError,
  type ServerToClientEvents,
  type SkipMarker,
  type SubscribeAckBody,
  type SubscribePayload,
  type WireError,
} from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { backoffDelay } from "./backoff.js";
import { Emitter, safeCall } from "./emitter.js";
import { toRelaybaseError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { RoomPresence } from "./presence.js";
import { type Gap, RoomSequencer } from "./room-sequencer.js";

/** Event name → payload type. `createClient<{ chat: { text: string } }>(…)`. */
export type DefaultEvents = Record<string, unknown>;
export type EventName<Events> = Extract<keyof Events, string>;

/** Everything about a message except its data. */
export interface MessageMeta<Name extends string = string> extends Omit<MessageEnvelope, "data" | "event"> {
  event: Name;
}
export type MessageHandler<Data, Name extends string = string> = (
  data: Data,
  meta: MessageMeta<Name>,
) => void;

export interface PublishOptions {
  /**
   * The message id the server deduplicates on (1–64 chars). Pass your own to retry a
   * publish across page loads without duplicates.
   *
   * @default a random id
   */
  id?: string;
}

export interface PublishResult {
  id: string;
  /** The message's position in the room. */
  offset: number;
  epoch: string;
}

export interface SubscribeOptions {
  /**
   * Continue from a position the app kept (e.g. across a page reload): the server
   * replays what came after it, or the room emits `gap` when its history no longer
   * reaches back.
   *
   * @default undefined (start from the room's current position)
   */
  since?: Position;
}

export type RoomState = "unsubscribed" | "subscribing" | "subscribed";

/** The room's subscription was re-established after a reconnect. */
export interface ResumeInfo {
  room: string;
  /** False when messages were lost: a `gap` event carries the details. */
  recovered: boolean;
  /**
   * `connection`: Socket.IO restored the session (rooms and missed messages) itself.
   * `history`: the SDK resubscribed with its last position and the server replayed.
   */
  via: "connection" | "history";
}

export interface GapInfo extends Gap {
  room: string;
}

export interface RoomStatusEvents {
  /** The first subscribe succeeded; the payload is the starting position. */
  subscribed: Position;
  /** `unsubscribe()` was called, or the subscription failed for good (`error` set). */
  unsubscribed: { error?: RelaybaseError };
  resumed: ResumeInfo;
  /** Messages were lost; the room continues from `newOffset`/`newEpoch`. Refetch state. */
  gap: GapInfo;
  error: RelaybaseError;
}

type RelaybaseSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface HistoryOptions {
  /**
   * Exclusive offset bound: `forward` reads offsets after it (default 0, from the oldest
   * kept), `backward` offsets before it (default: from the newest).
   */
  since?: number;
  /** Messages per page, 1-1000. @default 100 */
  limit?: number;
  /** `forward`: oldest first; `backward`: newest first. @default "forward" */
  direction?: HistoryDirection;
}

/** @internal What a room needs from its client. */
export interface RoomHost {
  readonly options: ResolvedOptions;
  readonly socket: RelaybaseSocket;
  /** True when the client is closed or failed. */
  readonly stopped: boolean;
  isOwnConnection(connectionId: string | undefined): boolean;
  refreshAuth(): Promise<void>;
  report(error: RelaybaseError): void;
  publish(room: string, event: string, data: unknown, id: string | undefined): Promise<PublishResult>;
  flushPublishes(room: string): void;
}

/** How long a message may wait for an earlier one before the room asks the server to replay. */
const HOLE_WAIT_MS = 1_000;

/** Placeholders for skipped offsets: ordered like messages, delivered to no one. */
const skipped = new WeakSet<MessageEnvelope>();

function placeholder(marker: SkipMarker): MessageEnvelope {
  const envelope: MessageEnvelope = { ...marker, event: "", data: undefined, id: "", ts: 0 };
  skipped.add(envelope);
  return envelope;
}

type Reason = "initial" | "reconnect" | "resync";

/**
 * One room as seen by this client. Get it with `client.room(name)`; the same name always
 * gives the same object, and handlers survive unsubscribe/subscribe and reconnects.
 */
export class Room<Events extends object = DefaultEvents> {
  readonly name: string;
  /**
   * The room's presence set: `enter`, `update`, `leave`, `get`, and `on("enter" | "update" |
   * "leave" | "sync")`. Changes arrive while the room is subscribed. See docs/presence.md.
   */
  readonly presence: RoomPresence;
  readonly #host: RoomHost;
  readonly #seq = new RoomSequencer();
  readonly #handlers = new Map<string, Set<MessageHandler<unknown>>>();
  readonly #status = new Emitter<RoomStatusEvents>();
  #state: RoomState = "unsubscribed";
  #reason: Reason = "initial";
  /** Bumped on unsubscribe so acks of earlier requests are ignored. */
  #generation = 0;
  #inflight = false;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #holeTimer: ReturnType<typeof setTimeout> | undefined;
  #waiter: { promise: Promise<void>; resolve: () => void; reject: (err: RelaybaseError) => void } | undefined;
  /** After a reconnect, publishes wait for the resubscribe so they follow the replay. */
  #holdPublishes = false;
  /** Unsubscribed while offline: a recovered session would still have the room joined. */
  #leaveOnRecover = false;

  /** @internal Use `client.room(name)`. */
  constructor(name: string, host: RoomHost) {
    this.name = name;
    this.#host = host;
    this.presence = new RoomPresence(name, host);
  }

  get state(): RoomState {
    return this.#state;
  }

  /** The last delivered position; keep it to resume with `subscribe({ since })` later. */
  get position(): Position | undefined {
    const position = this.#seq.position;
    return position ? { ...position } : undefined;
  }

  /**
   * Starts receiving the room's messages. Resolves once the server confirmed; rejects
   * with a `RelaybaseError` (e.g. `CAPABILITY_DENIED`) when it refused for good. While
   * disconnected it waits for the connection. Idempotent.
   */
  subscribe(options: SubscribeOptions = {}): Promise<void> {
    if (this.#state === "subscribed") return Promise.resolve();
    if (this.#waiter) return this.#waiter.promise;
    if (this.#host.stopped) {
      return Promise.reject(new RelaybaseError("UNAVAILABLE", "The client is closed; call connect() first."));
    }
    let resolve!: () => void;
    let reject!: (err: RelaybaseError) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#waiter = { promise, resolve, reject };
    this.#seq.reset(options.since);
    this.#state = "subscribing";
    this.#reason = "initial";
    this.#request();
    return promise;
  }

  /** Stops receiving the room's messages. Handlers stay registered. */
  async unsubscribe(): Promise<void> {
    if (this.#state === "unsubscribed") return;
    this.#reset();
    this.#rejectWaiter(
      new RelaybaseError("UNAVAILABLE", "unsubscribe() was called before subscribe() completed."),
    );
    this.#status.emit("unsubscribed", {});
    this.#host.flushPublishes(this.name);
    if (this.#host.socket.connected) await this.#sendUnsubscribe();
    else this.#leaveOnRecover = true;
  }

  /**
   * Handles messages of one event, or of every event with `"*"`. Returns a function that
   * removes the handler. Messages arrive in order, each once.
   *
   * @example
   * const off = room.on("chat", (data, meta) => console.log(meta.offset, data.text));
   */
  on(event: "*", handler: MessageHandler<Events[EventName<Events>], EventName<Events>>): () => void;
  on<E extends EventName<Events>>(event: E, handler: MessageHandler<Events[E], E>): () => void;
  on(event: string, handler: (data: never, meta: never) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    const stored = handler as MessageHandler<unknown>;
    set.add(stored);
    return () => {
      set.delete(stored);
    };
  }

  /**
   * Handles the room's lifecycle: `subscribed`, `unsubscribed`, `resumed` (after each
   * reconnect), `gap` (messages were lost) and `error`.
   *
   * @example
   * room.onStatus("gap", () => refetchFromMyApi());
   */
  onStatus<K extends keyof RoomStatusEvents>(
    event: K,
    handler: (payload: RoomStatusEvents[K]) => void,
  ): () => void {
    return this.#status.on(event, handler);
  }

  /**
   * Publishes to the room (subscribing is not required). Resolves with the message's
   * offset once the server stored it. Queued while disconnected and resent with the same
   * id after a timeout or reconnect, so it is stored once. Rejects with a `PublishError`
   * on a do-not-retry code (e.g. `CAPABILITY_DENIED`, `MESSAGE_TOO_LARGE`) or after
   * `publishTimeoutMs`.
   */
  publish<E extends EventName<Events>>(
    event: E,
    data: Events[E],
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    return this.#host.publish(this.name, event, data, options.id);
  }

  /**
   * One page of the room's stored messages by offset, with the room's position now
   * (the `history` capability; subscribing is not required). Messages come as
   * subscribers received them; they are not delivered to `on` handlers. Rejects with
   * e.g. `CAPABILITY_DENIED`, or `UNAVAILABLE` while disconnected.
   *
   * @example
   * const { messages } = await room.history({ direction: "backward", limit: 50 });
   * // the page before it:
   * const older = await room.history({ direction: "backward", since: messages.at(-1)!.offset });
   */
  async history(options: HistoryOptions = {}): Promise<HistoryPage> {
    const { since, limit, direction } = options;
    if (since !== undefined && (!Number.isInteger(since) || since < 0)) {
      throw new RelaybaseError("BAD_REQUEST", "`since` is an offset: a whole number ≥ 0.");
    }
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE)) {
      throw new RelaybaseError("BAD_REQUEST", `A history page holds 1-${MAX_HISTORY_PAGE} messages.`);
    }
    const socket = this.#host.socket;
    if (!socket.connected) throw new RelaybaseError("UNAVAILABLE", "Not connected.");
    const payload = {
      room: this.name,
      ...(since !== undefined ? { since } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(direction !== undefined ? { direction } : {}),
    };
    let ack: Awaited<ReturnType<typeof socket.emitWithAck<"history">>>;
    try {
      ack = await socket.timeout(this.#host.options.ackTimeoutMs).emitWithAck("history", payload);
    } catch (err) {
      throw new RelaybaseError("TIMEOUT", `history was not acknowledged: ${(err as Error).message}`);
    }
    if (!ack.ok) throw toRelaybaseError(ack.error);
    const { ok: _ok, ...page } = ack;
    return page;
  }

  /** @internal The socket (re)connected. */
  _connected(recovered: boolean): void {
    this.presence._connected();
    this.#clearTimers();
    this.#inflight = false;
    if (this.#state === "unsubscribed") {
      if (recovered && this.#leaveOnRecover) void this.#sendUnsubscribe();
      this.#leaveOnRecover = false;
      return;
    }
    this.#leaveOnRecover = false;
    if (this.#state === "subscribed") {
      if (recovered && !this.#seq.pending) {
        // Socket.IO kept the room joined and replays what was missed by itself. The
        // subscribe below (`since` the last position) still checks it against the room's
        // history: a message fanned out while the session was being restored on the new
        // node reaches neither the replay nor the socket, and if it was the room's last
        // one, no later message would reveal the hole.
        this.#status.emit("resumed", { room: this.name, recovered: true, via: "connection" });
      } else if (!recovered) {
        this.#reason = "reconnect";
        this.#holdPublishes = true;
      }
    }
    this.#request();
  }

  /** @internal A `presence` event for this room arrived. */
  _presence(event: PresenceEvent): void {
    if (this.#state !== "unsubscribed") this.presence._event(event);
  }

  /** @internal The socket disconnected. */
  _disconnected(): void {
    this.#clearTimers();
  }

  /** @internal A `message` for this room arrived. */
  _message(envelope: MessageEnvelope): void {
    if (this.#state === "unsubscribed") return;
    this.#deliver(this.#seq.receive(envelope));
    this.#watchHoles();
  }

  /**
   * @internal A message at this offset excluded this connection (REST
   * `exceptConnectionId`): it takes its place in the order but reaches no handler.
   */
  _skip(marker: SkipMarker): void {
    this._message(placeholder(marker));
  }

  /** @internal The client closed or failed: pending subscribes reject; subscribed rooms resume on connect(). */
  _stop(error: RelaybaseError): void {
    this.presence._stop(error);
    this.#clearTimers();
    this.#inflight = false;
    if (this.#state === "subscribing") {
      this.#reset();
      this.#rejectWaiter(error);
      this.#status.emit("unsubscribed", { error });
    }
  }

  /** @internal */
  get _holdsPublishes(): boolean {
    return this.#holdPublishes;
  }

  #request(): void {
    const socket = this.#host.socket;
    if (this.#state === "unsubscribed" || this.#inflight || !socket.connected) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    clearTimeout(this.#holeTimer);
    this.#holeTimer = undefined;
    const since = this.#seq.begin();
    const payload: SubscribePayload = since ? { room: this.name, since } : { room: this.name };
    const generation = this.#generation;
    this.#inflight = true;
    socket.timeout(this.#host.options.ackTimeoutMs).emit("subscribe", payload, (err, ack) => {
      if (generation !== this.#generation) {
        // Unsubscribed meanwhile; if the server joined us anyway, leave again.
        if (!err && ack.ok && this.#state === "unsubscribed" && socket.connected)
          void this.#sendUnsubscribe();
        return;
      }
      this.#inflight = false;
      // Timed out: ask again. Disconnected: the reconnect asks again.
      if (err) return this.#request();
      if (ack.ok) this.#onSubscribed(ack);
      else this.#onRefused(ack.error);
    });
  }

  #onSubscribed(ack: SubscribeAckBody): void {
    const reason = this.#reason;
    const skips = (ack.skipped ?? []).map((offset) =>
      placeholder({ room: this.name, offset, epoch: ack.epoch }),
    );
    const result = this.#seq.ack(
      skips.length > 0 ? { ...ack, messages: [...(ack.messages ?? []), ...skips] } : ack,
    );
    const first = this.#state === "subscribing";
    this.#state = "subscribed";
    this.#reason = "resync";
    this.#attempt = 0;
    this.#holdPublishes = false;
    if (first) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter?.resolve();
      this.#status.emit("subscribed", { offset: ack.offset, epoch: ack.epoch });
    }
    if (reason === "reconnect" || (reason === "initial" && result.recovered !== undefined)) {
      this.#status.emit("resumed", { room: this.name, recovered: result.recovered ?? true, via: "history" });
    }
    if (result.gap) this.#status.emit("gap", { room: this.name, ...result.gap });
    this.#deliver(result.deliver);
    // Presence changes may have been missed while this room was not subscribed.
    if (first || reason === "reconnect") this.presence._subscribed();
    this.#host.flushPublishes(this.name);
    if (result.refetch) this.#request();
    else this.#watchHoles();
  }

  #onRefused(wire: WireError): void {
    const error = toRelaybaseError(wire);
    if (wire.retry === "never") {
      this.#fail(error);
      return;
    }
    if (wire.retry === "reauth") {
      this.#host.refreshAuth().then(
        () => this.#request(),
        (err: RelaybaseError) => (err.retry === "never" ? this.#fail(err) : this.#retryLater()),
      );
      return;
    }
    // backoff; or now, where the server is about to close the connection and the
    // reconnect resubscribes (the timer is a fallback should it not).
    this.#retryLater();
  }

  #retryLater(): void {
    const { reconnectionDelayMs, reconnectionDelayMaxMs } = this.#host.options;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#request();
      },
      backoffDelay(this.#attempt++, reconnectionDelayMs, reconnectionDelayMaxMs),
    );
  }

  /** The server refused for good: the room is no longer subscribed. */
  #fail(error: RelaybaseError): void {
    const wasSubscribed = this.#state === "subscribed";
    this.#reset();
    this.#rejectWaiter(error);
    this.#status.emit("error", error);
    this.#status.emit("unsubscribed", { error });
    // Nobody awaits a resubscribe: tell the app at the client level too.
    if (wasSubscribed) {
      this.#host.report(error);
      if (this.#host.socket.connected) void this.#sendUnsubscribe();
    }
    this.#host.flushPublishes(this.name);
  }

  #reset(): void {
    this.#generation++;
    this.#state = "unsubscribed";
    this.#inflight = false;
    this.#attempt = 0;
    this.#holdPublishes = false;
    this.#seq.reset();
    this.#clearTimers();
  }

  #rejectWaiter(error: RelaybaseError): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) {
      // The caller may not await it (fire-and-forget subscribe); don't make that unhandled.
      waiter.promise.catch(() => {});
      waiter.reject(error);
    }
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#holeTimer);
    this.#retryTimer = undefined;
    this.#holeTimer = undefined;
  }

  /** A message waiting on a hole for too long: resubscribe with `since` to have it replayed. */
  #watchHoles(): void {
    if (!this.#seq.waiting) {
      clearTimeout(this.#holeTimer);
      this.#holeTimer = undefined;
      return;
    }
    if (this.#holeTimer || this.#seq.pending) return;
    this.#holeTimer = setTimeout(() => {
      this.#holeTimer = undefined;
      if (this.#state === "subscribed" && this.#seq.waiting && !this.#seq.pending) {
        this.#reason = "resync";
        this.#request();
      }
    }, HOLE_WAIT_MS);
  }

  async #sendUnsubscribe(): Promise<void> {
    try {
      const ack = await this.#host.socket
        .timeout(this.#host.options.ackTimeoutMs)
        .emitWithAck("unsubscribe", { room: this.name });
      if (!ack.ok) this.#host.report(toRelaybaseError(ack.error));
    } catch {
      // Timed out or disconnected: a fresh connection is not in the room anyway.
    }
  }

  #deliver(envelopes: MessageEnvelope[]): void {
    const { echo } = this.#host.options;
    for (const envelope of envelopes) {
      if (skipped.has(envelope)) continue;
      if (!echo && this.#host.isOwnConnection(envelope.from?.connectionId)) continue;
      const { data, ...meta } = envelope;
      for (const key of [envelope.event, "*"]) {
        const set = this.#handlers.get(key);
        if (!set) continue;
        for (const handler of [...set]) safeCall(() => handler(data, meta));
      }
    }
  }
}
