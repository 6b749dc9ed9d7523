import { randomId } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisDebugWatchers } from "./redis-debug-watchers.js";
import { SHARED_REDIS_URL } from "./testing/redis-server.js";

let redis: RedisClient;
const prefix = `rbtest:${randomId(8)}:`;
beforeAll(async () => {
  redis = createRedisClient(SHARED_REDIS_URL);
  await redis.connect();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(keys);
  await redis.quit();
});

describe("RedisDebugWatchers", () => {
  it("tells every process which apps a console watches, until the last watcher leaves", async () => {
    const node = await RedisDebugWatchers.create(redis, { prefix, pollMs: 50 });
    const other = await RedisDebugWatchers.create(redis, { prefix, pollMs: 50 });
    const rest = await RedisDebugWatchers.create(redis, { prefix, pollMs: 50, readOnly: true });
    expect(rest.isWatched("app_1")).toBe(false);
    node.hold("app_1");
    node.hold("app_1");
    other.hold("app_1");
    // The holder knows at once; the others at their next read.
    expect(node.isWatched("app_1")).toBe(true);
    await expect.poll(() => rest.isWatched("app_1")).toBe(true);
    expect(rest.isWatched("app_2")).toBe(false);
    // A read-only process holds nothing: by the time a later hold shows, its has not.
    rest.hold("app_2");
    other.hold("app_marker");
    await expect.poll(() => node.isWatched("app_marker")).toBe(true);
    expect(node.isWatched("app_2")).toBe(false);
    other.release("app_marker");

    node.release("app_1");
    node.release("app_1");
    other.release("app_1");
    await expect.poll(() => rest.isWatched("app_1")).toBe(false);
    await Promise.all([node.close(), other.close(), rest.close()]);
  });

  it("forgets a holder that died without a word once its entry lapses", async () => {
    const dead = await RedisDebugWatchers.create(redis, {
      prefix,
      ttlMs: 300,
      refreshMs: 100_000,
      pollMs: 50,
    });
    const rest = await RedisDebugWatchers.create(redis, { prefix, pollMs: 50, readOnly: true });
    dead.hold("app_gone");
    await expect.poll(() => rest.isWatched("app_gone")).toBe(true);
    // It never refreshes (as if killed): after its ttl nobody counts it.
    await expect.poll(() => rest.isWatched("app_gone")).toBe(false);
    await Promise.all([dead.close(), rest.close()]);
  });

  it("a new process learns of an existing watcher before it starts", async () => {
    const node = await RedisDebugWatchers.create(redis, { prefix });
    node.hold("app_early");
    // The hold's write is in flight; each new process reads once when created.
    await expect
      .poll(async () => {
        const late = await RedisDebugWatchers.create(redis, { prefix, readOnly: true, pollMs: 60_000 });
        await late.close();
        return late.isWatched("app_early");
      })
      .toBe(true);
    await node.close();
  });
});
