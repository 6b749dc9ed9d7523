import {
  type DailyQuota,
  FlexibleRateLimiter,
  type Limiters,
  nextUtcMidnight,
  type QuotaDecision,
  type RateDecision,
  type RateRule,
  utcDay,
} from "@relaybase/server-kit";
import { type RateLimiterAbstract, RateLimiterRedis } from "rate-limiter-flexible";
import { call, LuaScript, type RedisClient } from "./client.js";

export interface RedisLimitersOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** Longest wait for Redis per check before it counts as failed. @default 1_000 */
  commandTimeoutMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/**
 * Per-second budgets shared by the cluster: `RateLimiterRedis` (a fixed window, one
 * atomic Lua script per check) on a node-redis v4 client (`useRedisPackage: true`).
 * With the client's offline queue off, a check fails at once while Redis is away
 * (`rejectIfRedisNotReady`), and a slow Redis fails it after `commandTimeoutMs`.
 */
export class RedisRateLimiter extends FlexibleRateLimiter {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(client: RedisClient, options: Omit<RedisLimitersOptions, "now"> = {}) {
    super();
    this.#client = client;
    this.#prefix = options.prefix ?? "";
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
  }

  protected create(options: { keyPrefix: string; points: number; duration: number }): RateLimiterAbstract {
    return new RateLimiterRedis({
      ...options,
      keyPrefix: `${this.#prefix}${options.keyPrefix}`,
      storeClient: this.#client,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
    });
  }

  override consume(rule: RateRule, key: string, points = 1): Promise<RateDecision> {
    return withTimeout(super.consume(rule, key, points), this.#timeoutMs);
  }
}

// KEYS[1]: the app's counter for the day. ARGV: messages, limit, expiry (unix seconds).
// All or nothing: a take that would pass the limit changes nothing.
const TAKE = new LuaScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if used + n > tonumber(ARGV[2]) then return {0, used} end
used = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return {1, used}
`);

/**
 * Messages per app per UTC day in Redis: one counter per app and day,
 * `rb:quota:{<appId>}:<YYYY-MM-DD>`, checked and incremented in one Lua script and
 * expiring at the end of its day. The day comes from this process's clock.
 */
export class RedisDailyQuota implements DailyQuota {
  readonly #client: RedisClient;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #now: () => number;

  constructor(client: RedisClient, options: RedisLimitersOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? "";
    this.#timeoutMs = options.commandTimeoutMs ?? 1_000;
    this.#now = options.now ?? Date.now;
  }

  #key(appId: string, now: number): string {
    return `${this.#prefix}rb:quota:{${appId}}:${utcDay(now)}`;
  }

  async take(appId: string, messages: number, limit: number): Promise<QuotaDecision> {
    const now = this.#now();
    const expireAt = Math.floor(nextUtcMidnight(now) / 1000);
    const reply = (await TAKE.run(
      this.#client,
      [this.#key(appId, now)],
      [String(messages), String(limit), String(expireAt)],
      this.#timeoutMs,
    )) as [number, number];
    return { allowed: reply[0] === 1, used: Number(reply[1]) };
  }

  async used(appId: string): Promise<number> {
    return Number((await call(this.#client, ["GET", this.#key(appId, this.#now())], this.#timeoutMs)) ?? 0);
  }
}

/** The cluster's limiters, on the service's Redis client. */
export function redisLimiters(client: RedisClient, options: RedisLimitersOptions = {}): Limiters {
  return { rate: new RedisRateLimiter(client, options), daily: new RedisDailyQuota(client, options) };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms.`)), timeoutMs);
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
