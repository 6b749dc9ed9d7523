import { randomId } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { ConnectionLeases } from "./connection-leases.js";

let redis: RedisClient;
const prefix = `rbtest:${randomId(8)}:`;
beforeAll(async () => {
  redis = createRedisClient("redis://127.0.0.1:6379");
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
    const doomed = new ConnectionLeases(redis, { prefix, leaseMs: 300, refreshMs: 60_000 });
    doomed.opened("app_3");
    doomed.opened("app_3");
    await doomed.refresh();
    expect(await survivor.count("app_3")).toBe(2);
    // "kill -9": no close(), no more refreshes.
    await new Promise((r) => setTimeout(r, 400));
    expect(await survivor.count("app_3")).toBe(0);
    await survivor.close();
  });

  it("liveElsewhere leaves out a node whose Redis connection is gone, before its lease expires", async () => {
    const survivor = new ConnectionLeases(redis, { prefix, leaseMs: 60_000 });
    const ownClient = createRedisClient("redis://127.0.0.1:6379");
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
    const a = new ConnectionLeases(redis, { prefix, leaseMs: 60_000 });
    const b = new ConnectionLeases(redis, { prefix, leaseMs: 60_000 });
    a.opened("app_4");
    a.opened("app_4");
    const until = async (n: number) => {
      for (let i = 0; i < 50 && (await b.count("app_4")) !== n; i++)
        await new Promise((r) => setTimeout(r, 5));
      return b.count("app_4");
    };
    // The lease refreshes every 20 s here: only the prompt write can explain these.
    expect(await until(2)).toBe(2);
    a.closed("app_4");
    a.closed("app_4");
    expect(await until(0)).toBe(0);
    await Promise.all([a.close(), b.close()]);
  });
});
