import type { UsageDelta } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { ConnectionLeases, readConnectionCounts } from "./connection-leases.js";
import { RedisUsage } from "./redis-usage.js";
import { SHARED_REDIS_URL, uniquePrefix } from "./testing/redis-server.js";

let redis: RedisClient;
const prefixes: string[] = [];
const fresh = () => {
  const p = uniquePrefix();
  prefixes.push(p);
  return p;
};

beforeAll(async () => {
  redis = createRedisClient(SHARED_REDIS_URL);
  await redis.connect();
});
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}*`);
    if (keys.length) await redis.del(keys);
  }
  await redis.quit();
});

const H = Date.UTC(2025, 0, 15, 10);
const delta = (appId: string, hour: number, published: number, delivered = 0): UsageDelta => ({
  appId,
  hour,
  published,
  delivered,
  bytesPublished: published * 10,
  bytesDelivered: delivered * 10,
});
const sorted = (deltas: UsageDelta[]) =>
  [...deltas].sort((a, b) => a.hour - b.hour || a.appId.localeCompare(b.appId));

describe("RedisUsage", () => {
  it("adds flushed batches, once per batch id, and a take empties what it returns", async () => {
    const usage = new RedisUsage(redis, { prefix: fresh() });
    await usage.sink({ id: "b1", deltas: [delta("app_a", H, 2, 6), delta("app_b", H, 1)] });
    await usage.sink({ id: "b2", deltas: [delta("app_a", H, 1, 3), delta("app_a", H + 3_600_000, 4)] });
    await usage.sink({ id: "b2", deltas: [delta("app_a", H, 1, 3), delta("app_a", H + 3_600_000, 4)] }); // retry
    const claim = await usage.take();
    expect(sorted(claim!.deltas)).toEqual([
      delta("app_a", H, 3, 9),
      delta("app_b", H, 1),
      delta("app_a", H + 3_600_000, 4),
    ]);
    expect(await usage.take()).toBeUndefined();
    // Flushes after the take start a new pending set.
    await usage.sink({ id: "b3", deltas: [delta("app_a", H, 5)] });
    expect((await usage.take())!.deltas).toEqual([delta("app_a", H, 5)]);
  });

  it("splits big batches into parts, each applied once", async () => {
    const usage = new RedisUsage(redis, { prefix: fresh(), chunkSize: 2 });
    const deltas = Array.from({ length: 5 }, (_, i) => delta(`app_${i}`, H, i + 1));
    await usage.sink({ id: "big", deltas });
    await usage.sink({ id: "big", deltas });
    expect(sorted((await usage.take())!.deltas)).toEqual(sorted(deltas));
  });

  it("keeps a claim until released; a stale one can be taken over, a fresh one cannot", async () => {
    const usage = new RedisUsage(redis, { prefix: fresh() });
    await usage.sink({ id: "b1", deltas: [delta("app_a", H, 2)] });
    const claim = await usage.take();
    expect(await usage.staleClaims(Date.now() - 60_000)).toEqual([]);
    expect(await usage.staleClaims(Date.now() + 1)).toEqual([claim!.id]);
    expect(await usage.reclaim(claim!.id, Date.now() - 60_000)).toBeUndefined();
    expect((await usage.reclaim(claim!.id, Number.POSITIVE_INFINITY))!.deltas).toEqual([
      delta("app_a", H, 2),
    ]);
    await usage.release(claim!.id);
    expect(await usage.staleClaims(Date.now() + 1)).toEqual([]);
    expect(await usage.reclaim(claim!.id, Number.POSITIVE_INFINITY)).toBeUndefined();
  });
});

describe("readConnectionCounts", () => {
  it("sums the live leases per app", async () => {
    const prefix = fresh();
    const a = new ConnectionLeases(redis, { prefix, leaseMs: 10_000 });
    const b = new ConnectionLeases(redis, { prefix, leaseMs: 10_000 });
    a.opened("app_1");
    a.opened("app_2");
    b.opened("app_1");
    b.opened("app_1");
    await Promise.all([a.refresh(), b.refresh()]);
    expect(await readConnectionCounts(redis, { prefix })).toEqual(
      new Map([
        ["app_1", 3],
        ["app_2", 1],
      ]),
    );
    await a.close();
    expect(await readConnectionCounts(redis, { prefix })).toEqual(new Map([["app_1", 2]]));
    await b.close();
    expect(await readConnectionCounts(redis, { prefix })).toEqual(new Map());
  });
});
