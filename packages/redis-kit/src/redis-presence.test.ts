import type { PresenceEvent } from "@relaybase/protocol";
import { type AppRuntime, NodePresence, newAppId, PLANS } from "@relaybase/server-kit";
import { afterAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisPresence, type RedisPresenceOptions } from "./redis-presence.js";
import { deleteKeys, OwnRedisServer, SHARED_REDIS_URL, uniquePrefix } from "./testing/redis-server.js";

const app = (presenceMembersPerRoom = 100): AppRuntime => ({
  appId: newAppId(),
  orgId: "org_test",
  name: "test",
  plan: "free",
  allowedOrigins: [],
  anonymousCaps: {},
  clientPublish: true,
  limits: { ...PLANS.free, roomsPerConnection: 1_000, presenceMembersPerRoom },
  publishableKeys: [],
  secretKeys: [],
});

const conn = (node: string, n: number) => `${node}${String(n).padStart(20 - node.length, "0")}`;

const opened: { client: RedisClient; node: NodePresence }[] = [];
const prefixes: string[] = [];

afterAll(async () => {
  for (const { client, node } of opened) {
    await node.close().catch(() => {});
    if (client.isOpen) {
      for (const prefix of prefixes) await deleteKeys(client, prefix).catch(() => {});
      await client.quit().catch(() => {});
    }
  }
});

/** A node's presence on its own Redis connection, recording what it announces. */
async function node(url: string, prefix: string, options: RedisPresenceOptions = {}) {
  const client = createRedisClient(url);
  await client.connect();
  const store = new RedisPresence(client, { prefix, leaseMs: 1_000, ...options });
  const announced: Omit<PresenceEvent, "room">[] = [];
  const presence = new NodePresence({
    store,
    graceMs: 0,
    logger: { warn: () => {} },
    announce: (c) => announced.push({ action: c.action, member: c.member }),
  });
  opened.push({ client, node: presence });
  await store.tick();
  return { client, store, presence, announced };
}

const actions = (events: Omit<PresenceEvent, "room">[]) =>
  events.map((e) => `${e.action} ${e.member.userId}`);

describe("RedisPresence", () => {
  it("holds one member per user across nodes; the user's last connection on any node is the leave", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await node(SHARED_REDIS_URL, prefix);
    const b = await node(SHARED_REDIS_URL, prefix);
    const tenant = app();
    await a.presence.enter({
      app: tenant,
      room: "r",
      userId: "alice",
      connectionId: conn("a", 1),
      data: { n: 1 },
    });
    await b.presence.enter({
      app: tenant,
      room: "r",
      userId: "alice",
      connectionId: conn("b", 1),
      data: { n: 1 },
    });
    await b.presence.enter({ app: tenant, room: "r", userId: "bob", connectionId: conn("b", 2), data: null });
    expect(await a.store.count(tenant.appId, "r")).toBe(2);
    expect(actions(a.announced)).toEqual(["enter alice"]);
    expect(actions(b.announced)).toEqual(["update alice", "enter bob"]);
    a.presence.disconnected(conn("a", 1), true);
    await b.presence.leave(tenant.appId, "r", conn("b", 1));
    await expect
      .poll(() => actions([...a.announced, ...b.announced]).filter((x) => x.startsWith("leave")))
      .toEqual(["leave alice"]);
    const page = await b.store.page(tenant.appId, "r");
    expect(page).toEqual({ members: [{ userId: "bob", connectionId: conn("b", 2), data: null }] });
    // Another app's room of the same name is another room.
    expect(await b.store.count(app().appId, "r")).toBe(0);
  });

  it("a connection recovered on another node (same id) is not removed by the node it left", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await node(SHARED_REDIS_URL, prefix);
    const b = await node(SHARED_REDIS_URL, prefix);
    const tenant = app();
    const id = conn("x", 1);
    await a.presence.enter({ app: tenant, room: "r", userId: "gus", connectionId: id, data: { v: 1 } });
    // Socket.IO restored the session on node b: same connection id, entered again there.
    await b.presence.enter({ app: tenant, room: "r", userId: "gus", connectionId: id, data: { v: 1 } });
    a.presence.disconnected(id, true);
    await new Promise((r) => setTimeout(r, 100));
    expect(await b.store.count(tenant.appId, "r")).toBe(1);
    expect(actions([...a.announced, ...b.announced])).toEqual(["enter gus"]);
    b.presence.disconnected(id, true);
    await expect.poll(() => actions(b.announced)).toEqual(["leave gus"]);
  });

  it("enforces the member limit atomically: of 20 users entering at once on two nodes, exactly 5 get in", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await node(SHARED_REDIS_URL, prefix);
    const b = await node(SHARED_REDIS_URL, prefix);
    const tenant = app(5);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).presence.enter({
          app: tenant,
          room: "r",
          userId: `u${i}`,
          connectionId: conn("c", i),
          data: null,
        }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(5);
    expect(
      results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(Array(15).fill("PRESENCE_ROOM_FULL"));
    expect(await a.store.count(tenant.appId, "r")).toBe(5);
  });

  it("pages 10 000 members by user id, each once", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const a = await node(SHARED_REDIS_URL, prefix);
    const tenant = app(10_000);
    for (let i = 0; i < 10_000; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) =>
          a.presence.enter({
            app: tenant,
            room: "big",
            userId: `user-${String(i + j).padStart(5, "0")}`,
            connectionId: conn("p", i + j),
            data: { i: i + j },
          }),
        ),
      );
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    const started = Date.now();
    do {
      const page = await a.store.page(tenant.appId, "big", { limit: 1000, cursor });
      seen.push(...page.members.map((m) => m.userId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    console.info(
      `[redis-presence] 10 000 members read in ${pages} pages of 1000 in ${Date.now() - started} ms`,
    );
    expect(pages).toBe(10);
    expect(seen).toHaveLength(10_000);
    expect(new Set(seen).size).toBe(10_000);
    expect(seen[0]).toBe("user-00000");
    expect(seen.at(-1)).toBe("user-09999");
  }, 60_000);

  it("removes a dead node's members when its lease lapses, and another node announces each leave", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const survivor = await node(SHARED_REDIS_URL, prefix, { leaseMs: 1_000, refreshMs: 200 });
    const doomed = await node(SHARED_REDIS_URL, prefix, { leaseMs: 1_000, refreshMs: 200 });
    const tenant = app();
    for (let i = 0; i < 50; i++) {
      await doomed.presence.enter({
        app: tenant,
        room: "r",
        userId: `u${i}`,
        connectionId: conn("d", i),
        data: null,
      });
    }
    // u0 also has a connection on the survivor: it stays.
    await survivor.presence.enter({
      app: tenant,
      room: "r",
      userId: "u0",
      connectionId: conn("s", 0),
      data: null,
    });
    // Dies without a word: no renewals, nothing withdrawn.
    await doomed.store.close();
    await doomed.client.disconnect();
    const killedAt = Date.now();
    await expect
      .poll(() => survivor.announced.filter((e) => e.action === "leave").length, { timeout: 15_000 })
      .toBe(49);
    const boundMs = Date.now() - killedAt;
    console.info(`[redis-presence] 49 leaves announced ${boundMs} ms after the node stopped (lease 1000 ms)`);
    expect(
      new Set(survivor.announced.filter((e) => e.action === "leave").map((e) => e.member.userId)).size,
    ).toBe(49);
    expect(await survivor.store.count(tenant.appId, "r")).toBe(1);
    expect((await survivor.store.page(tenant.appId, "r")).members.map((m) => m.userId)).toEqual(["u0"]);
    // Nothing of the dead node is left behind.
    await expect.poll(() => survivor.client.exists(`${prefix}{rb:pres}:node:${doomed.store.nodeId}`)).toBe(0);
    expect(await survivor.client.zScore(`${prefix}{rb:pres}:nodes`, doomed.store.nodeId)).toBeNull();
  }, 30_000);

  it("a node that was swept while cut off writes its members again, announced as enters", async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const survivor = await node(SHARED_REDIS_URL, prefix, { leaseMs: 1_000, refreshMs: 100 });
    // Renews only once (at start): to the others it looks dead after a second.
    const stalled = await node(SHARED_REDIS_URL, prefix, { leaseMs: 1_000, refreshMs: 600_000 });
    const tenant = app();
    for (let i = 0; i < 3; i++) {
      await stalled.presence.enter({
        app: tenant,
        room: "r",
        userId: `u${i}`,
        connectionId: conn("s", i),
        data: null,
      });
    }
    await expect
      .poll(() => actions(survivor.announced).sort(), { timeout: 10_000 })
      .toEqual(["leave u0", "leave u1", "leave u2"]);
    stalled.announced.length = 0;
    // It is back and its next write finds it without a lease: it writes everything again.
    await stalled.presence.enter({
      app: tenant,
      room: "r",
      userId: "u3",
      connectionId: conn("s", 3),
      data: null,
    });
    await expect.poll(() => survivor.store.count(tenant.appId, "r"), { timeout: 10_000 }).toBe(4);
    expect(actions(stalled.announced).sort()).toEqual(["enter u0", "enter u1", "enter u2", "enter u3"]);
  }, 30_000);

  it("writes its members again, silently, after Redis is flushed or restarted empty", async () => {
    const redis = await OwnRedisServer.start();
    try {
      const prefix = uniquePrefix();
      const a = await node(redis.url, prefix, { leaseMs: 1_000, refreshMs: 100 });
      const b = await node(redis.url, prefix, { leaseMs: 1_000, refreshMs: 100 });
      const tenant = app();
      await a.presence.enter({
        app: tenant,
        room: "r",
        userId: "alice",
        connectionId: conn("a", 1),
        data: { x: 1 },
      });
      await b.presence.enter({
        app: tenant,
        room: "r",
        userId: "bob",
        connectionId: conn("b", 1),
        data: null,
      });
      a.announced.length = 0;
      b.announced.length = 0;

      await a.client.flushAll();
      expect(await a.store.count(tenant.appId, "r")).toBe(0);
      await expect.poll(() => a.store.count(tenant.appId, "r"), { timeout: 10_000 }).toBe(2);

      await redis.stop();
      await redis.restart();
      await expect.poll(() => a.store.count(tenant.appId, "r").catch(() => -1), { timeout: 15_000 }).toBe(2);
      expect((await b.store.page(tenant.appId, "r")).members).toEqual([
        { userId: "alice", connectionId: conn("a", 1), data: { x: 1 } },
        { userId: "bob", connectionId: conn("b", 1), data: null },
      ]);
      // Nobody saw anyone leave or enter.
      expect([...a.announced, ...b.announced]).toEqual([]);
    } finally {
      for (const o of opened.splice(-2)) {
        await o.node.close();
        await o.client.quit().catch(() => {});
      }
      await redis.stop();
    }
  }, 40_000);
});
