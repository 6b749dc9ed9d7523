import { RelaybaseError } from "@relaybase/protocol/wire";
import type { ManagerOptions, SocketOptions } from "socket.io-client";

export type Transport = "websocket" | "polling" | "webtransport";

export interface ClientOptions {
  /**
   * The app's publishable key (`pk_…`). Safe to ship in a browser. A secret key (`sk_…`)
   * is refused: it belongs on your server (see `@relaybase/sdk/server`).
   *
   * @example "pk_live_3f9a…"
   */
  key: string;

  /**
   * The realtime endpoint.
   *
   * @example "https://realtime.example.com"
   */
  url: string;

  /**
   * The Socket.IO path on the realtime endpoint.
   *
   * @default "/socket.io"
   */
  path?: string;

  /**
   * A URL on your own backend that returns a connection token for the signed-in user.
   * The SDK POSTs `{}` to it with cookies included and expects JSON `{ token }` (mint it
   * there with `createServerClient(...).createToken(...)`). A 401 or 403 answer puts the
   * client in the `failed` state; call `client.connect()` after the user signs in.
   * Use either this or `getToken`; with neither, the connection is anonymous and can do
   * what the app's anonymous capabilities allow.
   *
   * @default undefined
   * @example "/api/relaybase-token"
   */
  authEndpoint?: string;

  /**
   * Extra headers for the `authEndpoint` request (a function is called for each request).
   *
   * @default {}
   * @example () => ({ authorization: `Bearer ${session.accessToken}` })
   */
  authHeaders?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

  /**
   * Returns a connection token (a JWT minted by Relaybase for your user). Called before
   * connecting, on every reconnect whose cached token is missing or about to expire, and
   * about a minute before the live connection's token expires. Throw a `RelaybaseError`
   * with a `never` retry code (e.g. `UNAUTHENTICATED`) to stop reconnecting; any other
   * error is retried with backoff.
   *
   * @default undefined
   * @example async () => (await fetch("/api/token")).text()
   */
  getToken?: () => Promise<string>;

  /**
   * Deliver this connection's own publishes back to it. With `false`, messages whose
   * `from.connectionId` is this client's (current or earlier) connection are skipped.
   *
   * @default true
   */
  echo?: boolean;

  /**
   * Transports to try, in order. WebSocket first; long-polling only where WebSocket
   * fails (long-polling needs sticky sessions on the server side).
   *
   * @default ["websocket", "polling"]
   */
  transports?: Transport[];

  /**
   * How long to wait for the server to acknowledge one subscribe, publish or token
   * refresh before sending it again (publishes are resent with the same id, so the
   * server stores them once).
   *
   * @default 10_000
   */
  ackTimeoutMs?: number;

  /**
   * The longest `room.publish()` may take, including time queued while disconnected
   * and every retry; then it rejects with code `TIMEOUT`. The message may or may not
   * have been published: retrying with the same id (`error.messageId`) is safe.
   *
   * @default 30_000
   */
  publishTimeoutMs?: number;

  /**
   * Fetch a new token this long before the current one expires (halfway through its
   * life if it lives shorter than twice this).
   *
   * @default 60_000
   */
  tokenRefreshMarginMs?: number;

  /**
   * First reconnect delay; it doubles on each failed attempt, with jitter.
   *
   * @default 1_000
   */
  reconnectionDelayMs?: number;

  /**
   * Longest reconnect delay.
   *
   * @default 10_000
   */
  reconnectionDelayMaxMs?: number;

  /**
   * Extra Socket.IO client options (for example `withCredentials: true` so the sticky
   * session cookie travels with cross-origin long-polling). The SDK's own settings
   * (`auth`, `path`, `transports`, reconnection, `autoConnect`, `forceNew`) win.
   *
   * @default {}
   */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

export type ResolvedOptions = Required<Omit<ClientOptions, "authEndpoint" | "authHeaders" | "getToken">> &
  Pick<ClientOptions, "authEndpoint" | "getToken"> & {
    authHeaders: () => Record<string, string> | Promise<Record<string, string>>;
  };

export const DEFAULTS = {
  path: "/socket.io",
  echo: true,
  transports: ["websocket", "polling"] as Transport[],
  ackTimeoutMs: 10_000,
  publishTimeoutMs: 30_000,
  tokenRefreshMarginMs: 60_000,
  reconnectionDelayMs: 1_000,
  reconnectionDelayMaxMs: 10_000,
} as const;

/** Fills in defaults and refuses options that cannot work, before any connection. */
export function resolveOptions(options: ClientOptions): ResolvedOptions {
  if (typeof options.key !== "string" || options.key.length === 0) {
    throw new RelaybaseError("INVALID_KEY", "`key` is required: the app's publishable key (pk_…).");
  }
  if (options.key.startsWith("sk_")) {
    throw new RelaybaseError(
      "WRONG_KEY_TYPE",
      "A secret key must never reach a browser; pass the publishable key (pk_…).",
    );
  }
  if (typeof options.url !== "string" || options.url.length === 0) {
    throw new RelaybaseError("BAD_REQUEST", "`url` is required: the realtime endpoint.");
  }
  if (options.authEndpoint !== undefined && options.getToken !== undefined) {
    throw new RelaybaseError("BAD_REQUEST", "Pass either `authEndpoint` or `getToken`, not both.");
  }
  for (const name of [
    "ackTimeoutMs",
    "publishTimeoutMs",
    "tokenRefreshMarginMs",
    "reconnectionDelayMs",
    "reconnectionDelayMaxMs",
  ] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new RelaybaseError("BAD_REQUEST", `\`${name}\` must be a number of milliseconds ≥ 0.`);
    }
  }
  const headers = options.authHeaders;
  return {
    key: options.key,
    url: options.url,
    path: options.path ?? DEFAULTS.path,
    authEndpoint: options.authEndpoint,
    authHeaders: typeof headers === "function" ? headers : () => headers ?? {},
    getToken: options.getToken,
    echo: options.echo ?? DEFAULTS.echo,
    transports: options.transports ?? [...DEFAULTS.transports],
    ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
    publishTimeoutMs: options.publishTimeoutMs ?? DEFAULTS.publishTimeoutMs,
    tokenRefreshMarginMs: options.tokenRefreshMarginMs ?? DEFAULTS.tokenRefreshMarginMs,
    reconnectionDelayMs: options.reconnectionDelayMs ?? DEFAULTS.reconnectionDelayMs,
    reconnectionDelayMaxMs: options.reconnectionDelayMaxMs ?? DEFAULTS.reconnectionDelayMaxMs,
    socketOptions: options.socketOptions ?? {},
  };
}
