import type { PresenceMember } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../fixtures.js";
import { type Developer, type FailureCluster, startFailureCluster } from "./fixtures.js";

/**
 * Presence when Redis loses everything: flushed, then SIGKILLed and started again empty.
 * Members are held on two nodes; each node notices at its next lease renewal and writes
 * its members again. Nobody sees a leave or an enter, and REST lists everyone again.
 */
const ROOM = "team:ops";

describe("presence after Redis loses its data", () => {
  let c: FailureCluster;
  let dev: Developer;

  beforeAll(async () => {
    c = await startFailureCluster({ nodes: 2 });
    dev = await c.developer();
  }, 90_000);
  afterAll(() => c?.close(), 30_000);

  async function member(userId: string, node: 0 | 1) {
    const { token } = await dev.server.createToken({
      userId,
      capabilities: { "team:*": ["subscribe", "presence"] },
    });
    return c.client({
      key: dev.publishableKey,
      url: c.cluster.nodes[node]!.url,
      getToken: async () => token,
    });
  }

  /** The REST view, or undefined while REST cannot answer (its directory is being reloaded). */
  async function listed(): Promise<string[] | undefined> {
    // Bounded, so one request caught in Redis's restart cannot hold up the poll.
    const res = await fetch(`${c.urls.rest}/v1/apps/${dev.appId}/rooms/${ROOM}/presence`, {
      headers: { authorization: `Bearer ${dev.secret}` },
      signal: AbortSignal.timeout(5_000),
    }).catch(() => undefined);
    if (!res?.ok) return undefined;
    return ((await res.json()) as { members: PresenceMember[] }).members.map((m) => m.userId);
  }

  it("every node writes its members again after a FLUSHALL and after a restart, announcing nothing", async () => {
    const watcher = await member("watcher", 1);
    const changes: string[] = [];
    for (const action of ["enter", "update", "leave"] as const) {
      watcher.room(ROOM).presence.on(action, (m: PresenceMember) => changes.push(`${action} ${m.userId}`));
    }
    await watcher.room(ROOM).subscribe();
    const users = ["u0", "u1", "u2", "u3", "u4", "u5"];
    for (const [i, userId] of users.entries()) {
      await (await member(userId, (i % 2) as 0 | 1)).room(ROOM).presence.enter({ i });
    }
    await expect.poll(() => changes.length, { timeout: 10_000 }).toBe(users.length);
    changes.length = 0;
    expect(await listed()).toEqual(users);

    const redis = await c.redis();
    const flushedAt = Date.now();
    await redis.flushAll();
    await expect.poll(listed, { timeout: 30_000, interval: 100 }).toEqual(users);
    const flushMs = Date.now() - flushedAt;

    await c.killRedis();
    await sleep(1_000);
    await c.restartRedis();
    const upAt = Date.now();
    await expect.poll(listed, { timeout: 30_000, interval: 100 }).toEqual(users);
    const restartMs = Date.now() - upAt;
    console.info(
      `[presence-redis] members listed again ${flushMs} ms after FLUSHALL and ${restartMs} ms after an empty ` +
        "Redis came back (REST waits for the tenant directory's reload too)",
    );
    await sleep(1_000);
    expect(changes).toEqual([]);
    expect((await watcher.room(ROOM).presence.get()).map((m) => m.userId)).toEqual(users);
  }, 120_000);
});
