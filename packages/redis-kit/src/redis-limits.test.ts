import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisDailyQuota, RedisRateLimiter } from "./redis-limits.js";
import { deleteKeys, OwnRedisServer, SHARED_REDIS_URL, uniquePrefix } from "./testing/redis-server.js";

let redis: RedisClient;
let other: RedisClient;
const prefix = uniquePrefix();
beforeAll(async () => {
  redis = createRedisClient(SHARED_REDIS_URL);
  other = createRedisClient(SHARED_REDIS_URL);
  await Promise.all([redis.connect(), other.connect()]);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await Promise.all([redis.quit(), other.quit()]);
});

describe("RedisRateLimiter", () => {
  it("shares one budget between processes (two clients, two limiters)", async () => {
    const a = new RedisRateLimiter(redis, { prefix });
    const b = new RedisRateLimiter(other, { prefix });
    const rule = { name: "shared", limit: 4 };
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await a.consume(rule, "app_1")).allowed);
    results.push((await b.consume(rule, "app_1")).allowed);
    results.push((await b.consume(rule, "app_1")).allowed);
    expect(results).toEqual([true, true, true, true, false]);
    const refused = await a.consume(rule, "app_1");
    expect(refused.allowed).toBe(false);
    expect(refused.allowed === false && refused.retryAfterMs).toBeLessThanOrEqual(1000);
    expect((await a.consume(rule, "app_2")).allowed).toBe(true);
  });

  it("takes several points at once and resets after the window", async () => {
    const rate = new RedisRateLimiter(redis, { prefix });
    const rule = { name: "points", limit: 5 };
    expect((await rate.consume(rule, "k", 5)).allowed).toBe(true);
    expect((await rate.consume(rule, "k", 1)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await rate.consume(rule, "k", 5)).allowed).toBe(true);
  });

  it("fails at once (throws) when Redis is gone, so the caller's fail policy applies", async () => {
    const own = await OwnRedisServer.start();
    const client = createRedisClient(own.url);
    await client.connect();
    // A command timeout far longer than what "at once" may take: failing fast is not
    // waiting for it.
    const rate = new RedisRateLimiter(client, { commandTimeoutMs: 20_000 });
    expect((await rate.consume({ name: "x", limit: 1 }, "k")).allowed).toBe(true);
    await own.stop();
    const started = Date.now();
    await expect(rate.consume({ name: "x", limit: 1 }, "k")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    await client.disconnect().catch(() => {});
  });
});

describe("RedisDailyQuota", () => {
  it("counts all or nothing across processes, one counter per app and UTC day", async () => {
    const a = new RedisDailyQuota(redis, { prefix });
    const b = new RedisDailyQuota(other, { prefix });
    expect(await a.take("app_q", 3, 5)).toEqual({ allowed: true, used: 3 });
    expect(await b.take("app_q", 3, 5)).toEqual({ allowed: false, used: 3 });
    expect(await b.take("app_q", 2, 5)).toEqual({ allowed: true, used: 5 });
    expect(await a.take("app_q", 1, 5)).toEqual({ allowed: false, used: 5 });
    expect(await a.used("app_q")).toBe(5);
    expect(await a.take("app_other", 1, 5)).toEqual({ allowed: true, used: 1 });
  });

  it("expires the counter at the end of its UTC day; the next day starts from zero", async () => {
    let now = Date.UTC(2030, 5, 1, 23, 59, 58);
    const quota = new RedisDailyQuota(redis, { prefix, now: () => now });
    await quota.take("app_day", 4, 4);
    const key = `${prefix}rb:quota:{app_day}:2030-06-01`;
    expect(await redis.get(key)).toBe("4");
    expect(await redis.expireTime(key)).toBe(Date.UTC(2030, 5, 2) / 1000);
    expect((await quota.take("app_day", 1, 4)).allowed).toBe(false);
    now += 2000;
    expect(await quota.take("app_day", 1, 4)).toEqual({ allowed: true, used: 1 });
  });
});
