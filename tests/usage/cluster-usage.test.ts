/**
 * Usage metering in a real cluster (separate processes: Redis, control plane on a fresh
 * Postgres database, two realtime nodes, one REST instance): the nodes and the REST
 * instance flush to Redis, the control plane rolls up into `usage_hourly`.
 */
import { createTestDatabase, type TestDatabase } from "@relaybase/control-plane/testing";
import { createClient, type RelaybaseClient } from "@relaybase/sdk";
import { createClient as createRedis } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "../../scripts/cluster/processes.js";
import { signUpDeveloper, until } from "../fixtures.js";

let db: TestDatabase;
let cluster: Cluster;
const clients: RelaybaseClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase("postgres");
  cluster = await startCluster({
    nodes: 2,
    restInstances: 1,
    databaseUrl: db.env.DATABASE_URL!,
    env: { USAGE_FLUSH_MS: "200", USAGE_ROLLUP_MS: "300", CONNECTION_LEASE_MS: "3000" },
  });
}, 90_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.close();
  await db?.drop();
});

const bytesOf = (data: unknown) => Buffer.byteLength(JSON.stringify(data));

async function usageRow(appId: string) {
  const { rows } = await db.query!(
    `select coalesce(sum(published), 0)::int as published, coalesce(sum(delivered), 0)::int as delivered,
            coalesce(sum(bytes_published), 0)::int as bytes_published,
            coalesce(sum(bytes_delivered), 0)::int as bytes_delivered,
            coalesce(max(peak_connections), 0)::int as peak_connections
       from usage_hourly where app_id = $1`,
    [appId],
  );
  return rows[0] as Record<string, number> & { peak_connections: number };
}

describe("usage metering (cluster)", () => {
  it("counts publishes from REST and clients on both nodes, and every delivery, exactly", async () => {
    const { trpc, appId, publishableKey, server } = await signUpDeveloper(
      { controlPlane: cluster.controlPlane.url, rest: cluster.rest[0]!.url },
      { name: "usage" },
    );
    const caps = { "chat:*": ["subscribe", "publish"] as ("subscribe" | "publish")[] };
    // Two clients on each node in chat:a, and one more on node 1 in chat:b.
    const placement = [
      { node: 0, room: "chat:a" },
      { node: 0, room: "chat:a" },
      { node: 1, room: "chat:a" },
      { node: 1, room: "chat:a" },
      { node: 0, room: "chat:b" },
    ];
    const received = placement.map(() => 0);
    const rooms = await Promise.all(
      placement.map(async ({ node, room }, i) => {
        const client = createClient({
          url: cluster.nodes[node]!.url,
          transports: ["websocket"],
          key: publishableKey,
          getToken: async () => (await server.createToken({ userId: `u${i}`, capabilities: caps })).token,
        });
        clients.push(client);
        const r = client.room(room);
        r.on("m", () => received[i]!++);
        await r.subscribe();
        return r;
      }),
    );

    let bytesA = 0;
    let bytesB = 0;
    for (let n = 1; n <= 6; n++) {
      const data = { rest: n, pad: "ü".repeat(n) };
      bytesA += bytesOf(data);
      await server.publish({ room: "chat:a", event: "m", data });
    }
    for (let n = 1; n <= 3; n++) {
      const data = `b-${"z".repeat(n * 5)}`;
      bytesB += bytesOf(data);
      await server.publish({ room: "chat:b", event: "m", data });
    }
    // Client publishes through each node.
    for (const [i, n] of [
      [0, 1],
      [2, 2],
      [3, 3],
      [1, 4],
    ] as const) {
      const data = { client: n };
      bytesA += bytesOf(data);
      await rooms[i]!.publish("m", data);
    }
    await until(
      () => received.every((n, i) => n === (placement[i]!.room === "chat:a" ? 10 : 3)),
      "every client to get its room's messages",
    );

    const expected = {
      published: 10 + 3,
      delivered: 10 * 4 + 3 * 1,
      bytes_published: bytesA + bytesB,
      bytes_delivered: bytesA * 4 + bytesB,
      peak_connections: 5,
    };
    await until(
      async () => {
        const row = await usageRow(appId);
        return row.published === expected.published && row.delivered === expected.delivered;
      },
      "the usage to reach Postgres",
      { timeoutMs: 20_000 },
    );
    await until(async () => (await usageRow(appId)).peak_connections >= 5, "the peak connections");
    // Nothing counted twice by later flushes and rollups: a marker through REST and both
    // nodes (chat:a has clients on each) is counted by a later flush of every meter and a
    // later rollup; then the totals are exact.
    const marker = "marker";
    await server.publish({ room: "chat:a", event: "m", data: marker });
    expected.published += 1;
    expected.delivered += 4;
    expected.bytes_published += bytesOf(marker);
    expected.bytes_delivered += 4 * bytesOf(marker);
    await until(
      () => received.every((n, i) => n === (placement[i]!.room === "chat:a" ? 11 : 3)),
      "every chat:a client to get the marker",
    );
    await until(
      async () => {
        const row = await usageRow(appId);
        return (row.published ?? 0) >= expected.published && (row.delivered ?? 0) >= expected.delivered;
      },
      "the marker to be counted",
      { timeoutMs: 20_000 },
    );
    expect(await usageRow(appId)).toEqual(expected);

    // The console reads the same.
    const today = await trpc.usage.today.query({ appId });
    expect(today).toMatchObject({
      published: expected.published,
      delivered: expected.delivered,
      bytesPublished: expected.bytes_published,
      bytesDelivered: expected.bytes_delivered,
      peakConnections: 5,
    });

    // Nothing left behind in Redis: no pending deltas, no open claims.
    const redis = createRedis({ url: cluster.redisUrl });
    await redis.connect();
    try {
      expect(await redis.sCard("{rb:usage}:pending")).toBe(0);
      expect(await redis.zCard("{rb:usage}:claims")).toBe(0);
    } finally {
      await redis.quit();
    }
  });
});
