import { createHash } from "node:crypto";
import { RelaybaseError } from "@relaybase/protocol";
import {
  createClient,
  ErrorReply,
  type RedisClientType,
  type RedisFunctions,
  type RedisModules,
  type RedisScripts,
} from "redis";

/**
 * Any node-redis v4 client, whatever modules, functions or scripts it was created with
 * (`createClient()` returns a type that does not assign to the bare `RedisClientType`).
 */
export type RedisClient = RedisClientType<RedisModules, RedisFunctions, RedisScripts>;

/** The subset of a pino logger this package writes to. */
export interface WarnLogger {
  warn(obj: object, msg?: string): void;
}

export interface CreateRedisClientOptions {
  /** Connection errors are logged here, at most once per `errorLogIntervalMs`. Default: not logged. */
  logger?: WarnLogger;
  /** Default 10 000 ms. */
  errorLogIntervalMs?: number;
  /** Time allowed to open the TCP (or TLS) connection. Default 2 000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect backoff: 100 ms doubling per attempt, capped here, plus up to 100 ms of jitter. Default 2 000 ms. */
  maxReconnectDelayMs?: number;
  /** `CLIENT SETNAME`, shows in `CLIENT LIST`. */
  name?: string;
}

/**
 * A node-redis v4 client with the options the Redis-backed parts of Relaybase expect:
 * - `disableOfflineQueue: true`: while disconnected, commands fail at once instead of
 *   queueing until Redis comes back (callers answer 503 / an ack error, never hang);
 * - reconnects forever with capped exponential backoff and jitter;
 * - an `error` listener, so a lost connection never crashes the process (node-redis
 *   emits `error` on every failed reconnect attempt; an unhandled `error` event throws).
 *
 * The client is returned unconnected: `await client.connect()` (which keeps retrying
 * until Redis answers). Its `duplicate()` copies these options, listener excepted.
 */
export function createRedisClient(url: string, options: CreateRedisClientOptions = {}): RedisClient {
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const client = createClient({
    url,
    ...(options.name ? { name: options.name } : {}),
    disableOfflineQueue: true,
    socket: {
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      reconnectStrategy: (retries: number) =>
        Math.min(100 * 2 ** Math.min(retries, 16), maxDelay) + Math.floor(Math.random() * 100),
    },
  }) as unknown as RedisClient;
  client.on("error", errorListener(options.logger, options.errorLogIntervalMs));
  return client;
}

/** An `error` listener that logs (throttled) and otherwise ignores: node-redis reconnects by itself. */
export function errorListener(logger?: WarnLogger, intervalMs = 10_000): (err: unknown) => void {
  let last = 0;
  return (err) => {
    if (!logger) return;
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    logger.warn({ err }, "Redis connection error (reconnecting)");
  };
}

/** Replies Redis gives when it is up but cannot serve now: worth a retry, like a lost connection. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|BUSY|OOM|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|MISCONF)\b/;

/**
 * Maps a Redis failure to what callers answer: `UNAVAILABLE` (503, retry with backoff)
 * for a lost connection, a timeout or a transient error reply. Other error replies
 * (a bug: wrong type, script error) are returned unchanged and surface as INTERNAL.
 */
export function toRelaybaseError(err: unknown): unknown {
  if (err instanceof RelaybaseError) return err;
  if (err instanceof ErrorReply && !TRANSIENT_REPLY.test(err.message)) return err;
  const mapped = new RelaybaseError("UNAVAILABLE");
  (mapped as Error & { cause?: unknown }).cause = err;
  return mapped;
}

export type Reply = string | number | null | Reply[];

/**
 * Sends one command and waits at most `timeoutMs` of Redis's time for the reply. Fails
 * at once when the client is not connected, whether or not its offline queue is enabled
 * (so nothing of ours waits in that queue). A command that timed out may still run
 * later: callers of writes rely on idempotency (message ids). Errors are left as they
 * are; `call` maps them with `toRelaybaseError`.
 *
 * No AbortSignal: in node-redis 4.7 aborting a command that was already written
 * corrupts the client's queue (its abort listener unlinks a node that is no longer in
 * the list), which later crashes the process on a disconnect.
 */
export async function rawCall(client: RedisClient, args: string[], timeoutMs: number): Promise<Reply> {
  if (!client.isReady) throw new Error("The Redis client is not connected.");
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = redisDeadline(timeoutMs, () =>
      reject(new Error(`Redis did not answer within ${timeoutMs} ms.`)),
    );
  });
  const command = client.sendCommand<Reply>(args);
  command.catch(() => {});
  try {
    return await Promise.race([command, timeout]);
  } finally {
    cancel();
  }
}

/** How often a deadline looks at the clock; see `redisDeadline`. */
const DEADLINE_TICK_MS = 100;

/**
 * Calls `onExpired` once Redis has had `timeoutMs` to answer: time the event loop spent
 * blocked is not counted. A plain timer cannot tell the two apart. When this process is
 * busy (a reconnect storm of hundreds of handshakes, measured at 1.1 s of loop lag), a
 * reply that arrived in 30 ms waits unread in the socket, and a 1 s timer would fire
 * first (timers run before I/O is polled) and call a healthy Redis unavailable. So the
 * clock ticks every DEADLINE_TICK_MS, each tick counts at most two ticks' worth of time
 * (the rest was the loop, not Redis), and the final verdict waits one `setImmediate`, so
 * any reply already received is read before it. Returns the function that cancels it.
 */
export function redisDeadline(timeoutMs: number, onExpired: () => void): () => void {
  const tickMs = Math.max(1, Math.min(DEADLINE_TICK_MS, timeoutMs));
  let waited = 0;
  let last = performance.now();
  let cancelled = false;
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = performance.now();
    waited += Math.min(now - last, 2 * tickMs);
    last = now;
    if (waited < timeoutMs) {
      timer = setTimeout(tick, Math.min(tickMs, timeoutMs - waited));
      return;
    }
    setImmediate(() => {
      if (!cancelled) onExpired();
    });
  };
  timer = setTimeout(tick, tickMs);
  return () => {
    cancelled = true;
    clearTimeout(timer);
  };
}

export async function call(client: RedisClient, args: string[], timeoutMs: number): Promise<Reply> {
  try {
    return await rawCall(client, args, timeoutMs);
  } catch (err) {
    throw toRelaybaseError(err);
  }
}

/** A Lua script run with EVALSHA, falling back to EVAL when Redis lost its script cache. */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: RedisClient, keys: string[], args: string[], timeoutMs: number): Promise<Reply> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      try {
        return await rawCall(client, ["EVALSHA", this.sha, ...tail], timeoutMs);
      } catch (err) {
        // A restarted or flushed Redis forgets loaded scripts; EVAL loads it again.
        if (!(err instanceof ErrorReply && err.message.startsWith("NOSCRIPT"))) throw err;
        return await rawCall(client, ["EVAL", this.source, ...tail], timeoutMs);
      }
    } catch (err) {
      throw toRelaybaseError(err);
    }
  }
}
