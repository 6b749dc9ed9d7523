import { randomId } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { ConnectionLeases } from "./connection-leases.js";
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

describe("ConnectionLeases", () => {
  it("adds up every live node's connections per app", async () => {
    const a = new ConnectionLeases(redis, { prefix, leaseMs: 10_000 });
    const b = new ConnectionLeases(redis, { prefix, leaseMs: 10_000 });
    a.opened("app_1");
    a.opened("app_1");
    a.opened("app_2");
    b.opened("app_1");
    await Promise.all([a.refresh(), b.refresh()]);
    expect(await a.count("app_1")).toBe(3);
    expect(await b.count("app_1")).toBe(3);
    expect(await b.count("app_2")).toBe(1);
    // A node's own share is live, before its next refresh.
    b.closed("app_1");
    expect(await b.count("app_1")).toBe(2);
    await a.close();
    expect(await b.count("app_1")).toBe(0);
    await b.close();
  });

  it("stops counting a node that died without a word once its lease expires", async () => {
    const survivor = new ConnectionLeases(redis, { prefix, leaseMs: 10_000 });
    // A lease long enough that the first count cannot miss it on a slow machine.
    const doomed = new ConnectionLeases(redis, { prefix, leaseMs: 2_000, refreshMs: 60_000 });
    doomed.opened("app_3");
    doomed.opened("app_3");
    await doomed.refresh();
    expect(await survivor.count("app_3")).toBe(2);
    // "kill -9": no close(), no more refreshes; the count drops when the lease runs out.
    await expect.poll(() => survivor.count("app_3"), { message: "the lease to expire" }).toBe(0);
    await survivor.close();
  });

  it("liveElsewhere leaves out a node whose Redis connection is gone, before its lease expires", async () => {
    const survivor = new ConnectionLeases(redis, { prefix, leaseMs: 60_000 });
    const ownClient = createRedisClient(SHARED_REDIS_URL);
    await ownClient.connect();
    const crashed = new ConnectionLeases(ownClient, { prefix, leaseMs: 60_000 });
    crashed.opened("app_5");
    crashed.opened("app_5");
    survivor.opened("app_5");
    await Promise.all([crashed.refresh(), survivor.refresh()]);
    expect(await survivor.liveElsewhere("app_5")).toBe(2);
    // The process dies: the kernel closes its connection, no close(), the lease runs on.
    await ownClient.disconnect();
    await expect.poll(() => survivor.liveElsewhere("app_5")).toBe(0);
    expect(await survivor.count("app_5")).toBe(3);
    expect(await survivor.liveElsewhere("app_5")).toBe(0);
    expect(survivor.local("app_5")).toBe(1);
    await survivor.close();
  });

  it("writes a change at once, not only at the next refresh (connection quotas read the sum)", async () => {
    // The leases refresh every 200 s here, far past the wait's timeout (vitest.config.ts):
    // only the prompt write can explain these.
    const a = new ConnectionLeases(redis, { prefix, leaseMs: 600_000 });
    const b = new ConnectionLeases(redis, { prefix, leaseMs: 600_000 });
    a.opened("app_4");
    a.opened("app_4");
    await expect.poll(() => b.count("app_4"), { message: "the opened connections written" }).toBe(2);
    a.closed("app_4");
    a.closed("app_4");
    await expect.poll(() => b.count("app_4"), { message: "the closed connections written" }).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });
});
