import { isErrorCode, RelaybaseError } from "@relaybase/protocol/wire";

/** Claims the SDK reads from a token. It never verifies them: the server does. */
export interface TokenTimes {
  /** Expiry, seconds since the epoch. */
  exp?: number;
  /** Issue time, seconds since the epoch. */
  iat?: number;
}

/** Reads `exp` and `iat` from a JWT's payload without verifying it; undefined if unreadable. */
export function decodeTokenTimes(token: string): TokenTimes | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "="));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== "object" || claims === null) return undefined;
    const { exp, iat } = claims as Record<string, unknown>;
    return {
      ...(typeof exp === "number" ? { exp } : {}),
      ...(typeof iat === "number" ? { iat } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * When a token should be replaced, in ms since the epoch: `marginMs` before it expires,
 * or halfway through its life when it lives shorter than twice the margin (else a 60 s
 * token would always count as expiring). Undefined when the token has no readable `exp`.
 */
export function tokenRefreshAt(token: string, marginMs: number): number | undefined {
  const times = decodeTokenTimes(token);
  if (times?.exp === undefined) return undefined;
  const expMs = times.exp * 1000;
  const lifetimeMs = times.iat === undefined ? Number.POSITIVE_INFINITY : expMs - times.iat * 1000;
  return expMs - Math.min(marginMs, Math.max(0, lifetimeMs / 2));
}

export type FetchToken = () => Promise<string>;

/**
 * Caches the connection token and fetches a new one when it is missing or about to
 * expire. Concurrent callers share one fetch. Without a source, connections are
 * anonymous and `get()` returns undefined.
 */
export class TokenProvider {
  readonly #source: FetchToken | undefined;
  readonly #marginMs: number;
  readonly #now: () => number;
  #token: string | undefined;
  #inflight: Promise<string> | undefined;

  constructor(source: FetchToken | undefined, marginMs: number, now: () => number = Date.now) {
    this.#source = source;
    this.#marginMs = marginMs;
    this.#now = now;
  }

  get anonymous(): boolean {
    return this.#source === undefined;
  }

  /** The cached token while it is fresh, else a newly fetched one. */
  async get(): Promise<string | undefined> {
    if (!this.#source) return undefined;
    if (this.#token !== undefined && !this.#due(this.#token)) return this.#token;
    return this.fresh();
  }

  /** Always fetches (joining a fetch already under way). */
  async fresh(): Promise<string | undefined> {
    const source = this.#source;
    if (!source) return undefined;
    this.#inflight ??= (async () => {
      try {
        const token = await source();
        if (typeof token !== "string" || token.length === 0) {
          throw new RelaybaseError("UNAVAILABLE", "The token source returned no token.");
        }
        this.#token = token;
        return token;
      } catch (err) {
        throw toTokenError(err);
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  /** Forgets the cached token (after the server said it expired). */
  invalidate(): void {
    this.#token = undefined;
  }

  /** When the given token should be replaced, in ms since the epoch. */
  refreshAt(token: string): number | undefined {
    return tokenRefreshAt(token, this.#marginMs);
  }

  #due(token: string): boolean {
    const at = this.refreshAt(token);
    return at !== undefined && this.#now() >= at;
  }
}

function toTokenError(err: unknown): RelaybaseError {
  if (err instanceof RelaybaseError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  const error = new RelaybaseError("UNAVAILABLE", `Could not get a connection token: ${reason}`);
  error.cause = err;
  return error;
}

/**
 * A token source that POSTs to the developer's own endpoint (cookies included) and
 * expects `{ token }`. A 401/403 means the user is not signed in there: retrying will not
 * help until the app changes something, so it maps to a do-not-retry code.
 */
export function endpointTokenSource(
  url: string,
  headers: () => Record<string, string> | Promise<Record<string, string>>,
): FetchToken {
  return async () => {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        credentials: "include",
        headers: { "content-type": "application/json", accept: "application/json", ...(await headers()) },
        body: "{}",
      });
    } catch (err) {
      const error = new RelaybaseError("UNAVAILABLE", `The auth endpoint ${url} could not be reached.`);
      error.cause = err;
      throw error;
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw endpointError(url, res.status, body);
    const token = (body as { token?: unknown } | undefined)?.token;
    if (typeof token !== "string" || token.length === 0) {
      throw new RelaybaseError("UNAVAILABLE", `The auth endpoint ${url} did not answer with { token }.`);
    }
    return token;
  };
}

function endpointError(url: string, status: number, body: unknown): RelaybaseError {
  const wire = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (wire && isErrorCode(wire.code)) {
    return new RelaybaseError(wire.code, typeof wire.message === "string" ? wire.message : undefined);
  }
  const message = `The auth endpoint ${url} answered ${status}.`;
  if (status === 401 || status === 403) return new RelaybaseError("UNAUTHENTICATED", message);
  if (status === 429) return new RelaybaseError("RATE_LIMITED", message);
  return new RelaybaseError("UNAVAILABLE", message);
}
