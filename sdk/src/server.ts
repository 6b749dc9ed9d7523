/**
 * `@relaybase/sdk/server`: publish and mint tokens from your own backend with a secret
 * key, over HTTP only (no socket). Needs a global `fetch` (Node 20+, Deno, Bun, workers).
 * Never import this in browser code: the secret key must stay on your server.
 */
import {
  type Capabilities,
  ERROR_CODES,
  type ErrorCode,
  type HistoryDirection,
  type HistoryPage,
  isErrorCode,
  isValidEventName,
  isValidRoomName,
  isValidUserId,
  MAX_MESSAGES_PER_BATCH,
  MAX_ROOMS_PER_PUBLISH,
  type Position,
  type PresencePage,
  RelaybaseError,
  type Retry,
} from "@relaybase/protocol";

export { type Capabilities, type Capability, RelaybaseError } from "@relaybase/protocol";

export interface ServerClientOptions {
  /**
   * A secret key of the app (`sk_…`). Keep it on the server.
   *
   * @example process.env.RELAYBASE_SECRET_KEY
   */
  secretKey: string;

  /**
   * The app the key belongs to (`app_…`; shown next to the keys in the console). A secret
   * key does not encode it.
   */
  appId: string;

  /**
   * Base URL of the REST publish API.
   *
   * @example "https://api.example.com"
   */
  restUrl: string;

  /**
   * Base URL of the control plane (mints tokens).
   *
   * @example "https://console.example.com"
   */
  controlPlaneUrl: string;

  /**
   * Abort a request that has not answered after this long (it then throws `UNAVAILABLE`
   * with `status: 0`; a publish retried with the same `id` is stored once).
   *
   * @default 10_000
   */
  timeoutMs?: number;

  /**
   * The `fetch` to use (for tests, proxies or custom agents).
   *
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

interface PublishFields {
  event: string;
  data: unknown;
  /** Leave this connection out of the delivery (e.g. the browser that caused the change). */
  exceptConnectionId?: string;
  /** Idempotency id (1–64 chars): a retry with the same id is stored once per room. */
  id?: string;
}

/** One message to one room or to several (up to 100). */
export type ServerPublish = PublishFields &
  ({ room: string; rooms?: never } | { rooms: string[]; room?: never });

export interface ServerPublishResult {
  id: string;
  /** Where the message landed in each room. */
  offsets: Record<string, Position>;
}

export interface ServerBatchResult {
  results: ServerPublishResult[];
}

export interface CreateTokenInput {
  /**
   * Your user's id; becomes the token's `sub` and the `from.userId` of their messages.
   * @default undefined (an anonymous token)
   */
  userId?: string;
  /** What the token allows, e.g. `{ "chat:*": ["subscribe", "publish"] }`. */
  capabilities: Capabilities;
  /**
   * Lifetime in seconds, at most 86 400 (24 h).
   * @default 3600
   */
  ttl?: number;
}

export interface CreatedToken {
  token: string;
  /** When the token expires: its `exp`, in seconds since the Unix epoch. */
  expiresAt: number;
}

/**
 * A REST call failed: `code` and `retry` from the response body, `status` the HTTP status
 * (0: no answer), `retryAfter` the `Retry-After` header's seconds (rate limits, quotas).
 */
export class RelaybaseHttpError extends RelaybaseError {
  override readonly status: number;
  override readonly retry: Retry;

  constructor(
    code: ErrorCode,
    message: string | undefined,
    status: number,
    retry?: Retry,
    retryAfter?: number,
  ) {
    super(code, message, retryAfter === undefined ? {} : { retryAfter });
    this.name = "RelaybaseHttpError";
    this.status = status;
    this.retry = retry ?? ERROR_CODES[code].retry;
  }
}

export interface ServerClient {
  /** Publishes one message; resolves with its offset in each room. */
  publish(message: ServerPublish): Promise<ServerPublishResult>;
  /** Publishes up to 100 messages in one request; results in the same order. */
  batch(messages: ServerPublish[]): Promise<ServerBatchResult>;
  /** Mints a connection token for one of your users (hand it to `getToken`/`authEndpoint`). */
  createToken(input: CreateTokenInput): Promise<CreatedToken>;
  /**
   * One page of a room's presence members, ordered by user id (docs/presence.md). Pass the
   * page's `nextCursor` as `cursor` for the next one.
   *
   * @example
   * const { members, nextCursor, count } = await relaybase.presence("doc:42", { limit: 500 });
   */
  presence(room: string, page?: { cursor?: string; limit?: number }): Promise<ServerPresencePage>;
  /**
   * One page of a room's stored messages by offset, with its current position
   * (docs/rest-api.md): `forward` (default) after `since`, `backward` before it.
   *
   * @example
   * const { messages } = await relaybase.history("chat:lobby", { direction: "backward", limit: 50 });
   */
  history(
    room: string,
    page?: { since?: number; limit?: number; direction?: HistoryDirection },
  ): Promise<HistoryPage>;
  /**
   * One page of the app's occupied rooms (at least one subscriber on any node), ordered by
   * name, with subscribers and presence members (docs/rooms.md). Pass `nextCursor` as
   * `cursor` for the next page, with the same `prefix`.
   *
   * @example
   * const { rooms, nextCursor } = await relaybase.rooms({ prefix: "doc:", limit: 100 });
   */
  rooms(page?: { prefix?: string; limit?: number; cursor?: string }): Promise<ServerRoomList>;
  /**
   * One room now, occupied or not: subscribers, presence members, last offset and epoch.
   *
   * @example
   * const { subscribers, members, offset } = await relaybase.room("doc:42");
   */
  room(room: string): Promise<ServerRoomInfo>;
  /** Sends `user.message` to every connection of one user (token `sub`); not stored. */
  publishToUser(
    userId: string,
    message: { event: string; data: unknown; id?: string },
  ): Promise<{ id: string }>;
  /** Ends every connection of one user with a `USER_DISCONNECTED` notice. */
  disconnectUser(userId: string): Promise<void>;
}

export interface ServerPresencePage extends PresencePage {
  /** Members in the room now (distinct users). */
  count: number;
}

export interface ServerRoomCount {
  room: string;
  /** Connections subscribed to the room on every live node. */
  subscribers: number;
  /** Presence members (distinct users); 0 when none. */
  members: number;
}

export interface ServerRoomList {
  rooms: ServerRoomCount[];
  /** Absent on the last page. */
  nextCursor?: string;
}

export interface ServerRoomInfo extends ServerRoomCount {
  /** The room's last offset (0: nothing published in this epoch). */
  offset: number;
  epoch: string;
}

/**
 * @example
 * const relaybase = createServerClient({
 *   secretKey: process.env.RELAYBASE_SECRET_KEY!,
 *   appId: "app_123",
 *   restUrl: "https://api.example.com",
 *   controlPlaneUrl: "https://console.example.com",
 * });
 * await relaybase.publish({ room: "chat:lobby", event: "chat", data: { text: "hi" } });
 */
export function createServerClient(options: ServerClientOptions): ServerClient {
  const { secretKey, appId } = options;
  if (typeof secretKey !== "string" || !secretKey.startsWith("sk_")) {
    throw new RelaybaseError("WRONG_KEY_TYPE", "`secretKey` must be a secret key (sk_…).");
  }
  if (typeof appId !== "string" || appId.length === 0) {
    throw new RelaybaseError("BAD_REQUEST", "`appId` is required.");
  }
  const restUrl = trimSlash(options.restUrl);
  const controlPlaneUrl = trimSlash(options.controlPlaneUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const doFetch = options.fetch ?? globalThis.fetch;
  const app = encodeURIComponent(appId);

  async function post<T>(url: string, body: unknown): Promise<T> {
    return send<T>("POST", url, body);
  }

  async function send<T>(method: "GET" | "POST", url: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: {
          authorization: `Bearer ${secretKey}`,
          ...(method === "POST" ? { "content-type": "application/json" } : {}),
          accept: "application/json",
        },
        ...(method === "POST" ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const error = new RelaybaseHttpError("UNAVAILABLE", `${method} ${url} failed: ${reason}`, 0);
      error.cause = err;
      throw error;
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) throw httpError(res.status, json, url, res.headers.get("retry-after"));
    return json as T;
  }

  return {
    async publish(message) {
      validate(message);
      return post<ServerPublishResult>(`${restUrl}/v1/apps/${app}/publish`, message);
    },
    async batch(messages) {
      if (messages.length === 0 || messages.length > MAX_MESSAGES_PER_BATCH) {
        throw new RelaybaseError("TOO_MANY_ROOMS", `A batch holds 1-${MAX_MESSAGES_PER_BATCH} messages.`);
      }
      for (const message of messages) validate(message);
      return post<ServerBatchResult>(`${restUrl}/v1/apps/${app}/batch`, { messages });
    },
    async createToken({ userId, capabilities, ttl }) {
      return post<CreatedToken>(`${controlPlaneUrl}/v1/tokens`, { userId, capabilities, ttl });
    },
    async presence(room, page = {}) {
      if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
      const query = new URLSearchParams();
      if (page.limit !== undefined) query.set("limit", String(page.limit));
      if (page.cursor !== undefined) query.set("cursor", page.cursor);
      const qs = query.toString() ? `?${query}` : "";
      return send<ServerPresencePage>(
        "GET",
        `${restUrl}/v1/apps/${app}/rooms/${encodeURIComponent(room)}/presence${qs}`,
      );
    },
    async history(room, page = {}) {
      if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
      const query = new URLSearchParams();
      if (page.since !== undefined) query.set("since", String(page.since));
      if (page.limit !== undefined) query.set("limit", String(page.limit));
      if (page.direction !== undefined) query.set("direction", page.direction);
      const qs = query.toString() ? `?${query}` : "";
      return send<HistoryPage>(
        "GET",
        `${restUrl}/v1/apps/${app}/rooms/${encodeURIComponent(room)}/history${qs}`,
      );
    },
    async rooms(page = {}) {
      if (page.prefix !== undefined && page.prefix !== "" && !isValidRoomName(page.prefix)) {
        throw new RelaybaseError("INVALID_ROOM_NAME", "A room prefix follows the room name rules.");
      }
      const query = new URLSearchParams();
      if (page.prefix) query.set("prefix", page.prefix);
      if (page.limit !== undefined) query.set("limit", String(page.limit));
      if (page.cursor !== undefined) query.set("cursor", page.cursor);
      const qs = query.toString() ? `?${query}` : "";
      return send<ServerRoomList>("GET", `${restUrl}/v1/apps/${app}/rooms${qs}`);
    },
    async room(room) {
      if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME");
      return send<ServerRoomInfo>("GET", `${restUrl}/v1/apps/${app}/rooms/${encodeURIComponent(room)}`);
    },
    async publishToUser(userId, message) {
      if (!isValidUserId(userId)) throw new RelaybaseError("INVALID_USER_ID");
      if (!isValidEventName(message.event)) throw new RelaybaseError("INVALID_EVENT_NAME");
      return send<{ id: string }>(
        "POST",
        `${restUrl}/v1/apps/${app}/users/${encodeURIComponent(userId)}/publish`,
        message,
      );
    },
    async disconnectUser(userId) {
      if (!isValidUserId(userId)) throw new RelaybaseError("INVALID_USER_ID");
      await send("POST", `${restUrl}/v1/apps/${app}/users/${encodeURIComponent(userId)}/disconnect`, {});
    },
  };
}

/** Checks names before a request, so a typo fails here with the code the server would send. */
function validate(message: ServerPublish): void {
  const rooms = message.rooms ?? (message.room === undefined ? [] : [message.room]);
  if (rooms.length === 0) throw new RelaybaseError("BAD_REQUEST", "Give `room` or `rooms`.");
  if (rooms.length > MAX_ROOMS_PER_PUBLISH) {
    throw new RelaybaseError("TOO_MANY_ROOMS", `At most ${MAX_ROOMS_PER_PUBLISH} rooms per publish.`);
  }
  for (const room of rooms) {
    if (!isValidRoomName(room)) throw new RelaybaseError("INVALID_ROOM_NAME", `Invalid room name: ${room}`);
  }
  if (!isValidEventName(message.event)) throw new RelaybaseError("INVALID_EVENT_NAME");
}

function httpError(
  status: number,
  body: unknown,
  url: string,
  retryAfterHeader: string | null,
): RelaybaseHttpError {
  const wire = (body as { error?: { code?: unknown; message?: unknown; retry?: unknown } } | undefined)
    ?.error;
  const message = typeof wire?.message === "string" ? wire.message : `POST ${url} answered ${status}.`;
  const retry = isRetry(wire?.retry) ? wire.retry : undefined;
  const seconds = retryAfterHeader === null ? Number.NaN : Number(retryAfterHeader);
  const retryAfter = Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
  if (isErrorCode(wire?.code)) return new RelaybaseHttpError(wire.code, message, status, retry, retryAfter);
  // No body of ours (a proxy answered, or a newer code): judge by the status.
  return new RelaybaseHttpError(codeForStatus(status), message, status, retry, retryAfter);
}

function codeForStatus(status: number): ErrorCode {
  if (status === 401) return "INVALID_KEY";
  if (status === 403) return "FORBIDDEN";
  if (status === 404) return "NOT_FOUND";
  if (status === 413) return "MESSAGE_TOO_LARGE";
  if (status === 429) return "RATE_LIMITED";
  if (status >= 500) return status === 500 ? "INTERNAL" : "UNAVAILABLE";
  return "BAD_REQUEST";
}

function isRetry(value: unknown): value is Retry {
  return value === "never" || value === "backoff" || value === "now" || value === "reauth";
}

function trimSlash(url: string): string {
  if (typeof url !== "string" || url.length === 0)
    throw new RelaybaseError("BAD_REQUEST", "A base URL is required.");
  return url.replace(/\/+$/, "");
}

export {
  verifyWebhook,
  type WebhookBody,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookPayloads,
  type WebhookRequest,
  WebhookVerificationError,
} from "./webhooks.js";
