import { MAX_DATA_DEPTH } from "./names.js";
import { MAX_PRESENCE_DATA_BYTES } from "./presence.js";

/**
 * The one table of error codes. The same code appears in Socket.IO connect errors,
 * acks, REST bodies, tRPC errors and the SDK. docs/errors.md describes each one.
 *
 * `retry` tells a client what to do:
 * - `never`:     the request is wrong; sending it again will fail again.
 * - `backoff`:   a transient condition; retry later with exponential backoff.
 * - `now`:       reconnect now (e.g. the node is draining); another node will take you.
 * - `reauth`:    get a fresh token, then retry.
 */
export const RETRY_VALUES = ["never", "backoff", "now", "reauth"] as const;
export type Retry = (typeof RETRY_VALUES)[number];

interface CodeInfo {
  readonly status: number;
  readonly retry: Retry;
  readonly message: string;
}

export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, retry: "never", message: "The request is malformed." },
  INVALID_ROOM_NAME: {
    status: 400,
    retry: "never",
    message: "Room names are 1-200 characters of [A-Za-z0-9_-=@,.;:].",
  },
  INVALID_EVENT_NAME: { status: 400, retry: "never", message: "Event names are 1-64 characters." },
  MESSAGE_TOO_LARGE: {
    status: 413,
    retry: "never",
    message: "The message is larger than the app's size limit.",
  },
  DATA_TOO_DEEP: {
    status: 400,
    retry: "never",
    message: `The message's data nests arrays and objects deeper than ${MAX_DATA_DEPTH} levels.`,
  },
  INVALID_CONNECTION_ID: {
    status: 400,
    retry: "never",
    message: "Connection ids are the 20-character ids the SDK reports (`client.connectionId`).",
  },
  INVALID_USER_ID: {
    status: 400,
    retry: "never",
    message: "User ids are 1-200 characters, as in a token's `sub`.",
  },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    retry: "never",
    message: "A message with this id was already published to this room with a different event or data.",
  },
  TOO_MANY_ROOMS: {
    status: 400,
    retry: "never",
    message: "Too many rooms or messages in one request.",
  },
  INVALID_KEY: { status: 401, retry: "never", message: "The API key is unknown or revoked." },
  WRONG_KEY_TYPE: {
    status: 401,
    retry: "never",
    message: "This endpoint needs the other kind of key (publishable vs secret).",
  },
  TOKEN_INVALID: {
    status: 401,
    retry: "never",
    message: "The token is malformed, tampered with, or signed with a disallowed algorithm.",
  },
  TOKEN_EXPIRED: { status: 401, retry: "reauth", message: "The token has expired." },
  USER_DISCONNECTED: {
    status: 403,
    retry: "reauth",
    message: "The app's server ended this user's connections; connect again only with a new token.",
  },
  TOKEN_APP_MISMATCH: {
    status: 403,
    retry: "never",
    message: "The token was issued for another app.",
  },
  KEY_APP_MISMATCH: {
    status: 403,
    retry: "never",
    message: "This secret key belongs to another app.",
  },
  ORIGIN_NOT_ALLOWED: {
    status: 403,
    retry: "never",
    message: "The page's origin is not in the app's allowed origins.",
  },
  CAPABILITY_DENIED: {
    status: 403,
    retry: "never",
    message: "The connection's capabilities do not allow this on this room.",
  },
  RESERVED_ROOM: {
    status: 403,
    retry: "never",
    message:
      "This room is reserved for the Relaybase console's debug tail; only a console debug token may subscribe.",
  },
  PRESENCE_USER_REQUIRED: {
    status: 403,
    retry: "never",
    message: "Presence needs a token with a user id (`sub`); anonymous connections cannot enter.",
  },
  PRESENCE_DATA_TOO_LARGE: {
    status: 413,
    retry: "never",
    message: `Presence member data is at most ${MAX_PRESENCE_DATA_BYTES} bytes of JSON.`,
  },
  PRESENCE_ROOM_FULL: {
    // As OVER_CONNECTION_QUOTA: waiting does not help until someone leaves or the plan grows.
    status: 403,
    retry: "never",
    message: "The room has as many presence members as the app's plan allows.",
  },
  CLIENT_PUBLISH_DISABLED: {
    status: 403,
    retry: "never",
    message: "Client publishing is turned off for this app; publish from your server.",
  },
  UNAUTHENTICATED: { status: 401, retry: "never", message: "Sign in first." },
  INVALID_CREDENTIALS: { status: 401, retry: "never", message: "Wrong email or password." },
  FORBIDDEN: { status: 403, retry: "never", message: "You may not do this." },
  NOT_FOUND: { status: 404, retry: "never", message: "Not found." },
  APP_NOT_FOUND: { status: 404, retry: "never", message: "No such app." },
  CONFLICT: { status: 409, retry: "never", message: "It already exists." },
  BILLING_DISABLED: {
    status: 501,
    retry: "never",
    message: "Billing is not configured on this server",
  },
  RATE_LIMITED: { status: 429, retry: "backoff", message: "Too many requests; slow down." },
  OVER_CONNECTION_QUOTA: {
    // 403, not 429: waiting a moment does not help (someone must disconnect or the plan
    // must grow), and generic HTTP clients retry a 429 on their own. Pusher's 4004.
    status: 403,
    retry: "never",
    message: "The app has reached its plan's limit of concurrent connections.",
  },
  CONNECT_RATE_LIMITED: {
    status: 429,
    retry: "backoff",
    message: "Too many new connections to this app from this address; retry with backoff.",
  },
  TOO_MANY_SUBSCRIPTIONS: {
    status: 400,
    retry: "never",
    message: "This connection is subscribed to as many rooms as the app's plan allows; unsubscribe first.",
  },
  DAILY_QUOTA_EXCEEDED: {
    status: 429,
    retry: "backoff",
    message: "The app has used its plan's messages for today (UTC); it resets at midnight UTC.",
  },
  SERVER_SHUTTING_DOWN: {
    status: 503,
    retry: "now",
    message: "This node is shutting down; reconnect now.",
  },
  UNAVAILABLE: {
    status: 503,
    retry: "backoff",
    message: "A dependency is unavailable; retry with backoff.",
  },
  TIMEOUT: {
    status: 504,
    retry: "backoff",
    message: "No answer in time; the request may or may not have taken effect.",
  },
  INTERNAL: { status: 500, retry: "backoff", message: "Internal error." },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The shape of every error on the wire. */
export interface WireError {
  code: ErrorCode;
  message: string;
  retry: Retry;
  /** Seconds to wait before retrying, when the server knows (rate limits, quotas); REST also sends `Retry-After`. */
  retryAfter?: number;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CODES, value);
}

export function wireError(code: ErrorCode, message?: string): WireError {
  const info = ERROR_CODES[code];
  return { code, message: message ?? info.message, retry: info.retry };
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/**
 * An error carrying a code from the table. Thrown anywhere in the services; mapped to
 * HTTP, tRPC and Socket.IO at the edges. Unknown errors become INTERNAL there.
 */
export class RelaybaseError extends Error {
  readonly code: ErrorCode;
  readonly retry: Retry;
  readonly status: number;
  /** Seconds until a retry can succeed (rate limits, quotas), when known. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message?: string, options: { retryAfter?: number } = {}) {
    super(message ?? ERROR_CODES[code].message);
    this.name = "RelaybaseError";
    this.code = code;
    this.retry = ERROR_CODES[code].retry;
    this.status = ERROR_CODES[code].status;
    this.retryAfter = options.retryAfter;
  }

  toWire(): WireError {
    const wire: WireError = { code: this.code, message: this.message, retry: this.retry };
    if (this.retryAfter !== undefined) wire.retryAfter = this.retryAfter;
    return wire;
  }
}
