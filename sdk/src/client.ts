import {
  type AuthAck,
  type ClientToServerEvents,
  type MessageEnvelope,
  type PresenceEvent,
  RelaybaseError,
  type Retry,
  ROOM_NAME_PATTERN,
  type ServerToClientEvents,
  type SkipMarker,
  type UserMessage,
  type WireError,
} from "@relaybase/protocol";
import { io, type Socket } from "socket.io-client";
import { backoffDelay } from "./backoff.js";
import { DebugTail } from "./debug-tail.js";
import { Emitter } from "./emitter.js";
import { asWireError, PublishError, toRelaybaseError } from "./errors.js";
import { type ClientOptions, type ResolvedOptions, resolveOptions } from "./options.js";
import { PublishOutbox } from "./publish-outbox.js";
import { type DefaultEvents, type PublishResult, Room, type RoomHost } from "./room.js";
import { endpointTokenSource, TokenProvider } from "./token.js";

export type ConnectionState =
  | "connecting"
  | "connected"
  | "disconnected"
  | "reconnecting"
  | "failed"
  | "closed";

export interface StateChange {
  current: ConnectionState;
  previous: ConnectionState;
  /** Why the connection dropped or failed. Always set for `failed`. */
  error?: RelaybaseError;
  /**
   * On `connected` after a reconnect: true when Socket.IO restored the session (same
   * connection id, rooms kept, missed messages replayed); false when the SDK resubscribes
   * every room from its last position instead. Each room then emits `resumed`.
   */
  recovered?: boolean;
}

export interface ClientEvents {
  state: StateChange;
  /** Errors nobody awaits: refused connections, token fetch failures, lost subscriptions. */
  error: RelaybaseError;
  /**
   * A message your server sent to this connection's user (`POST /v1/apps/{appId}/users/{userId}/publish`,
   * `publishToUser`): it reaches every connection of the user, subscribed or not. Not stored,
   * not replayed after a reconnect.
   */
  "user.message": UserMessage;
}

type RelaybaseSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connection ids this client had; with `echo: false` their messages are skipped, even replayed ones. */
/** How long after losing its connection a client retries OVER_CONNECTION_QUOTA (see #afterRefusal). */
const QUOTA_GRACE_MS = 30_000;
const OWN_CONNECTIONS_KEPT = 16;
/** Node's timers overflow past 2^31-1 ms (and fire at once). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Connects to Relaybase.
 *
 * @example
 * const client = createClient<{ chat: { text: string } }>({
 *   key: "pk_…",
 *   url: "https://realtime.example.com",
 *   authEndpoint: "/api/relaybase-token",
 * });
 * const room = client.room("chat:lobby");
 * room.on("chat", (data, meta) => render(data.text, meta.offset));
 * await room.subscribe();
 * await room.publish("chat", { text: "hi" });
 */
export function createClient<Events extends object = DefaultEvents>(
  options: ClientOptions,
): RelaybaseClient<Events> {
  return new RelaybaseClient<Events>(options);
}

export class RelaybaseClient<Events extends object = DefaultEvents> {
  readonly #options: ResolvedOptions;
  readonly #tokens: TokenProvider;
  readonly #socket: RelaybaseSocket;
  readonly #events = new Emitter<ClientEvents>();
  readonly #rooms = new Map<string, Room<object>>();
  readonly #outbox: PublishOutbox;
  readonly #ownConnections: string[] = [];
  readonly #host: RoomHost;
  #state: ConnectionState = "connecting";
  #error: RelaybaseError | undefined;
  #everConnected = false;
  /** When the last live connection dropped; undefined while connected or never connected. */
  #lostAt: number | undefined;
  /** Reconnects the SDK schedules itself (after refusals); Socket.IO counts its own. */
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<void> | undefined;
  /** The token the live connection authenticated with. */
  #token: string | undefined;
  /** The server's last word before it closes the connection. */
  #notice: WireError | undefined;
  #handshake = 0;
  #debugTail: DebugTail | undefined;

  /** @internal Use `createClient()`. */
  constructor(options: ClientOptions) {
    this.#options = resolveOptions(options);
    const { authEndpoint, authHeaders, getToken } = this.#options;
    this.#tokens = new TokenProvider(
      getToken ?? (authEndpoint ? endpointTokenSource(authEndpoint, authHeaders) : undefined),
      this.#options.tokenRefreshMarginMs,
    );
    const o = this.#options;
    this.#socket = io(o.url, {
      ...o.socketOptions,
      path: o.path,
      transports: o.transports,
      tryAllTransports: o.transports.length > 1,
      reconnection: true,
      reconnectionDelay: o.reconnectionDelayMs,
      reconnectionDelayMax: o.reconnectionDelayMaxMs,
      autoConnect: false,
      forceNew: true,
      // A function, so that every (re)connect gets a fresh token.
      auth: (cb) => this.#authenticate(cb),
    });
    const client = this;
    this.#host = {
      options: o,
      get socket() {
        return client.#socket;
      },
      get stopped() {
        return client.#stopped;
      },
      isOwnConnection: (id) => id !== undefined && this.#ownConnections.includes(id),
      refreshAuth: () => this.#refreshAuth(),
      report: (error) => this.#report(error),
      publish: (room, event, data, id) => this.#publish(room, event, data, id),
      flushPublishes: (room) => this.#outbox.flush(room),
    };
    this.#outbox = new PublishOutbox({
      options: o,
      socket: this.#socket,
      holds: (room) => this.#rooms.get(room)?._holdsPublishes ?? false,
      refreshAuth: () => this.#refreshAuth(),
    });
    this.#wire();
    this.#socket.connect();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The error that put the client in the `failed` state. */
  get error(): RelaybaseError | undefined {
    return this.#error;
  }

  /** This connection's id (the `from.connectionId` of what it publishes); undefined while disconnected. */
  get connectionId(): string | undefined {
    return this.#socket.id;
  }

  /**
   * Listens to `state` changes and `error`s. Returns a function that removes the listener.
   *
   * @example
   * client.on("state", ({ current, error }) => banner(current, error?.message));
   * client.on("user.message", ({ event, data }) => notify(event, data));
   */
  on<K extends keyof ClientEvents>(event: K, handler: (payload: ClientEvents[K]) => void): () => void {
    return this.#events.on(event, handler);
  }

  /**
   * The room of that name (the same object each time). Throws `INVALID_ROOM_NAME` for
   * names outside 1–200 chars of `[A-Za-z0-9_-=@,.;:]`. The type parameter overrides the
   * client's event map for this room.
   */
  room<RoomEvents extends object = Events>(name: string): Room<RoomEvents> {
    // The pattern, not isValidRoomName: that one is also re-exported by the protocol's zod
    // schemas module, which would pull zod into browser bundles.
    if (typeof name !== "string" || !ROOM_NAME_PATTERN.test(name))
      throw new RelaybaseError("INVALID_ROOM_NAME");
    let room = this.#rooms.get(name);
    if (!room) {
      room = new Room<object>(name, this.#host);
      this.#rooms.set(name, room);
    }
    return room as unknown as Room<RoomEvents>;
  }

  /**
   * The app's live debug tail, for the Relaybase console (needs a debug token from the
   * control plane's `apps.debugToken`; docs/console.md). The same object each time.
   */
  debugTail(): DebugTail {
    this.#debugTail ??= new DebugTail({
      socket: this.#socket as unknown as Socket,
      ackTimeoutMs: this.#options.ackTimeoutMs,
      report: (error) => this.#report(error),
    });
    return this.#debugTail;
  }

  /** Opens the connection again after `close()` or a `failed` state; subscribed rooms resume. */
  connect(): void {
    if (!this.#stopped) return;
    this.#error = undefined;
    this.#attempt = 0;
    this.#setState("connecting");
    this.#socket.connect();
  }

  /**
   * Closes the connection. Pending publishes and subscribes reject; rooms keep their
   * handlers and positions, so `connect()` resumes them.
   */
  close(): void {
    if (this.#state === "closed") return;
    this.#stop("closed", new RelaybaseError("UNAVAILABLE", "The client was closed."));
  }

  get #stopped(): boolean {
    return this.#state === "closed" || this.#state === "failed";
  }

  #wire(): void {
    const socket = this.#socket;
    socket.on("connect", () => this.#onConnect());
    socket.on("disconnect", (reason) => this.#onDisconnect(reason));
    socket.on("connect_error", (err) => this.#onConnectError(err));
    socket.on("message", (envelope: MessageEnvelope) => this.#rooms.get(envelope.room)?._message(envelope));
    socket.on("skip", (marker: SkipMarker) => this.#rooms.get(marker.room)?._skip(marker));
    socket.on("presence", (event: PresenceEvent) => this.#rooms.get(event.room)?._presence(event));
    socket.on("notice", (notice) => this.#onNotice(notice));
    socket.on("user.message", (message: UserMessage) => this.#events.emit("user.message", message));
    socket.on("debug", (event) => this.#debugTail?._event(event));
    socket.io.on("reconnect_attempt", () => {
      if (!this.#stopped) this.#setState("reconnecting");
    });
  }

  #authenticate(cb: (data: object) => void): void {
    const handshake = ++this.#handshake;
    const { key } = this.#options;
    this.#tokens.get().then(
      (token) => {
        if (handshake !== this.#handshake || this.#stopped) return;
        this.#token = token;
        cb(token ? { key, token } : { key });
      },
      (error: RelaybaseError) => {
        if (handshake !== this.#handshake || this.#stopped) return;
        // No token, no handshake: drop this attempt and decide ourselves when to retry.
        this.#report(error);
        this.#socket.disconnect();
        this.#afterRefusal(error.retry, error);
      },
    );
  }

  #onConnect(): void {
    const recovered = this.#everConnected && this.#socket.recovered;
    const reconnect = this.#everConnected;
    this.#everConnected = true;
    this.#lostAt = undefined;
    this.#attempt = 0;
    this.#notice = undefined;
    const id = this.#socket.id;
    if (id && !this.#ownConnections.includes(id)) {
      this.#ownConnections.push(id);
      if (this.#ownConnections.length > OWN_CONNECTIONS_KEPT) this.#ownConnections.shift();
    }
    this.#setState("connected", undefined, reconnect ? recovered : undefined);
    this.#scheduleTokenRefresh();
    for (const room of this.#rooms.values()) room._connected(recovered);
    this.#debugTail?._connected();
    this.#outbox.flush();
  }

  #onDisconnect(reason: string): void {
    this.#lostAt = Date.now();
    clearTimeout(this.#refreshTimer);
    for (const room of this.#rooms.values()) room._disconnected();
    // Our own disconnects (close, failure, token trouble) set the state themselves.
    if (this.#stopped || reason === "io client disconnect") return;
    const notice = this.#notice;
    this.#notice = undefined;
    const error = notice ? toRelaybaseError(notice) : undefined;
    if (notice?.retry === "never") {
      this.#fail(error!);
      return;
    }
    if (reason === "io server disconnect") {
      // Socket.IO does not reconnect after a server-side disconnect: the notice says how.
      if (notice) this.#afterRefusal(notice.retry, error!);
      else {
        const closed = new RelaybaseError("UNAVAILABLE", "The server closed the connection.");
        this.#scheduleReconnect(this.#retryDelay("backoff"), closed);
      }
      return;
    }
    // A transport blip: Socket.IO reconnects by itself, with recovery when it can.
    this.#setState(
      "disconnected",
      error ?? new RelaybaseError("UNAVAILABLE", `Connection lost (${reason}).`),
    );
  }

  #onConnectError(err: Error & { data?: unknown }): void {
    if (this.#stopped) return;
    if (this.#socket.active) {
      // The transport failed (server unreachable, proxy trouble); Socket.IO retries.
      this.#setState("disconnected", new RelaybaseError("UNAVAILABLE", err.message));
      return;
    }
    // The server refused the handshake; Socket.IO will not retry on its own.
    const wire = asWireError(err.data) ?? { code: "UNAVAILABLE", message: err.message, retry: "backoff" };
    const error = toRelaybaseError(wire);
    this.#report(error);
    this.#afterRefusal(wire.retry, error);
  }

  #onNotice(value: unknown): void {
    const notice = asWireError(value);
    if (!notice) return;
    this.#notice = notice;
    if (notice.retry === "never") this.#report(toRelaybaseError(notice));
    if (notice.retry === "reauth") this.#tokens.invalidate();
    if (notice.retry === "now" || notice.retry === "reauth") {
      // Close the transport before the server does: the server then keeps the session,
      // Socket.IO reconnects by itself (through the load balancer, to a live node) and
      // the session is recovered there. If the server's disconnect wins the race,
      // #onDisconnect reconnects instead.
      setTimeout(() => {
        if (this.#socket.connected && this.#notice === notice) this.#socket.io.engine.close();
      });
    }
  }

  /** What to do after the server (or the token source) refused, by the error's retry hint. */
  #afterRefusal(retry: Retry, error: RelaybaseError): void {
    // A client coming back from a dead node may still be counted there until the node's
    // lease runs out (seconds): over quota is worth a few retries then, not a final stop.
    if (
      error.code === "OVER_CONNECTION_QUOTA" &&
      this.#lostAt !== undefined &&
      Date.now() - this.#lostAt < QUOTA_GRACE_MS
    ) {
      this.#scheduleReconnect(this.#retryDelay("backoff"), error);
      return;
    }
    if (retry === "never") {
      this.#fail(error);
      return;
    }
    if (retry === "reauth") this.#tokens.invalidate();
    this.#scheduleReconnect(this.#retryDelay(retry), error);
  }

  /**
   * `now` and `reauth` retry at once the first time. A repeated `now` (a draining node the
   * balancer still sends us to) retries after about `reconnectionDelayMs`, without growing:
   * a live node is usually one balancer pick away. Other repeats back off exponentially.
   */
  #retryDelay(retry: Retry): number {
    const attempt = this.#attempt++;
    const { reconnectionDelayMs, reconnectionDelayMaxMs } = this.#options;
    if ((retry === "now" || retry === "reauth") && attempt === 0) return 0;
    if (retry === "now") return backoffDelay(0, reconnectionDelayMs, reconnectionDelayMs);
    return backoffDelay(attempt, reconnectionDelayMs, reconnectionDelayMaxMs);
  }

  #scheduleReconnect(delayMs: number, error: RelaybaseError | undefined): void {
    this.#setState("disconnected", error);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#stopped) return;
      this.#setState("reconnecting");
      this.#socket.connect();
    }, delayMs);
  }

  #fail(error: RelaybaseError): void {
    this.#stop("failed", error);
  }

  #stop(state: "failed" | "closed", error: RelaybaseError): void {
    if (state === "failed") this.#error = error;
    // State first: the disconnect below calls #onDisconnect, which must see we stopped.
    this.#setState(state, state === "failed" ? error : undefined);
    this.#handshake++;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#refreshTimer);
    this.#socket.disconnect();
    this.#outbox.rejectAll(error);
    for (const room of this.#rooms.values()) room._stop(error);
    this.#debugTail?._stop(error);
  }

  #setState(current: ConnectionState, error?: RelaybaseError, recovered?: boolean): void {
    const previous = this.#state;
    if (previous === current && !error) return;
    this.#state = current;
    this.#events.emit("state", {
      current,
      previous,
      ...(error ? { error } : {}),
      ...(recovered !== undefined ? { recovered } : {}),
    });
  }

  #publish(room: string, event: string, data: unknown, id: string | undefined): Promise<PublishResult> {
    const messageId = id ?? newMessageId();
    if (this.#stopped) {
      const reason = this.#error ?? new RelaybaseError("UNAVAILABLE", "The client is closed.");
      return Promise.reject(new PublishError(reason.code, reason.message, room, messageId));
    }
    return this.#outbox.publish(room, event, data, messageId);
  }

  #report(error: RelaybaseError): void {
    this.#events.emit("error", error);
  }

  // --- tokens on a live connection ---

  #scheduleTokenRefresh(): void {
    clearTimeout(this.#refreshTimer);
    const token = this.#token;
    if (!token) return;
    const at = this.#tokens.refreshAt(token);
    if (at === undefined) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    this.#refreshTimer = setTimeout(() => this.#refreshLoop(0), delay);
  }

  #refreshLoop(attempt: number): void {
    this.#refreshAuth().catch((error: RelaybaseError) => {
      this.#report(error);
      // Until the old token expires; then the server disconnects and the handshake retries.
      if (error.retry === "never" || !this.#socket.connected) return;
      const { reconnectionDelayMs, reconnectionDelayMaxMs } = this.#options;
      this.#refreshTimer = setTimeout(
        () => this.#refreshLoop(attempt + 1),
        backoffDelay(attempt, reconnectionDelayMs, reconnectionDelayMaxMs),
      );
    });
  }

  /** Fetches a new token and hands it to the live connection (`auth` event). */
  #refreshAuth(): Promise<void> {
    this.#refreshing ??= (async () => {
      try {
        if (this.#tokens.anonymous) {
          throw new RelaybaseError("UNAUTHENTICATED", "No authEndpoint or getToken to get a token from.");
        }
        const token = await this.#tokens.fresh();
        // Offline: the next handshake uses the new token (it is cached).
        if (!token || !this.#socket.connected) return;
        let ack: AuthAck;
        try {
          ack = await this.#socket.timeout(this.#options.ackTimeoutMs).emitWithAck("auth", { token });
        } catch (err) {
          throw new RelaybaseError(
            "TIMEOUT",
            `Token refresh was not acknowledged: ${(err as Error).message}`,
          );
        }
        if (!ack.ok) throw toRelaybaseError(ack.error);
        this.#token = token;
        this.#scheduleTokenRefresh();
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }
}

/** A random message id; `crypto.getRandomValues` works in browsers on plain http too (randomUUID does not). */
export function newMessageId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return `c_${hex}`;
}
