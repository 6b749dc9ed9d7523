/**
 * Limits on a real cluster (scripts/cluster: Redis, the control plane on Postgres, two
 * realtime nodes, a REST instance, each its own process), with the Redis limiters the
 * standalone services wire. The connection quota is cluster-wide: whichever node a
 * connection lands on, the app's connections on every live node count; a node killed
 * with SIGKILL stops counting when its lease expires. The REST rate and the daily quota
 * are shared by every process.
 */
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "../../scripts/cluster/processes.js";
import { ack, connectionCount, handshake, rawSocket, signUpDeveloper, sleep, until } from "../fixtures.js";
import { type AppOwner, createTestDatabase, restPublish, setLimits, type TestDatabase } from "./fixtures.js";

const LEASE_MS = 3_000;
const MAX = 3;

let db: TestDatabase;
let cluster: Cluster;
let owner: AppOwner & { publishableKey: string };
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createTestDatabase("postgres");
  cluster = await startCluster({
    nodes: 2,
    restInstances: 1,
    databaseUrl: db.env.DATABASE_URL!,
    env: { CONNECTION_LEASE_MS: String(LEASE_MS) },
  });
  owner = await signUpDeveloper(
    { controlPlane: cluster.controlPlane.url, rest: cluster.rest[0]!.url },
    { name: "quota" },
  );
  // Before any node has looked the app up: every node reads it with the override.
  await setLimits(db, owner, { maxConnections: MAX, restPublishesPerSecond: 2, messagesPerDay: 6 });
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await cluster?.close();
  await db?.drop();
});

/** Connects to one node directly; resolves with the socket and "connected" or the error code. */
async function connectTo(nodeIndex: number): Promise<{ socket: Socket; result: string }> {
  const socket = rawSocket(cluster.nodes[nodeIndex]!.url, owner.publishableKey);
  sockets.push(socket);
  const result = await handshake(socket);
  if (result !== "connected") socket.disconnect();
  return { socket, result };
}

const stats = () => connectionCount(cluster.rest[0]!.url, owner);

describe("publish limits shared by the cluster", () => {
  it("limits REST publishes per app with 429 + Retry-After, and counts one daily quota across nodes and REST", async () => {
    const a = await connectTo(0);
    const b = await connectTo(1);
    expect([a.result, b.result]).toEqual(["connected", "connected"]);
    const publish = (socket: Socket, id: string) =>
      ack(socket, "publish", { room: "r", event: "e", data: id, id });

    const burst = await Promise.all(
      [1, 2, 3].map((n) => restPublish(cluster.rest[0]!.url, owner, { room: "r", event: "e", data: n })),
    );
    expect(burst.map((r) => r.status).sort()).toEqual([202, 202, 429]);
    expect(burst.find((r) => r.status === 429)).toMatchObject({
      retryAfter: 1,
      error: { code: "RATE_LIMITED", retry: "backoff", retryAfter: 1 },
    });
    expect(await publish(b.socket, "c1")).toMatchObject({ ok: true }); // 3 of 6 used
    await sleep(1_100);
    const batch = await restPublish(
      cluster.rest[0]!.url,
      owner,
      {
        messages: [
          { room: "r", event: "e", data: 4 },
          { room: "r", event: "e", data: 5 },
        ],
      },
      "batch",
    );
    expect(batch.status).toBe(202); // 5 of 6
    await sleep(1_100);
    const twoRooms = await restPublish(cluster.rest[0]!.url, owner, {
      rooms: ["r", "s"],
      event: "e",
      data: 6,
    });
    expect(twoRooms).toMatchObject({ status: 429, error: { code: "DAILY_QUOTA_EXCEEDED" } });
    expect(twoRooms.retryAfter).toBeGreaterThan(0);
    expect(await publish(a.socket, "c2")).toMatchObject({ ok: true, offset: 6 }); // 6 of 6, on the other node
    expect(await publish(b.socket, "c3")).toMatchObject({
      ok: false,
      error: { code: "DAILY_QUOTA_EXCEEDED", retry: "backoff" },
    });

    a.socket.disconnect();
    b.socket.disconnect();
    await until(async () => (await stats()) === 0, "both connections to be released");
  });
});

describe("connection quota across a cluster", () => {
  it("admits maxConnections across both nodes, refuses the next on either, and frees a killed node's share within the lease", async () => {
    const A = 0;
    const B = 1;
    // 1..N admitted, spread over both nodes.
    const first = await connectTo(A);
    const second = await connectTo(B);
    const third = await connectTo(A);
    expect([first.result, second.result, third.result]).toEqual(["connected", "connected", "connected"]);
    // A node writes its count to Redis right after the handshake, not before the client hears back.
    await until(async () => (await stats()) === MAX, "the cluster count to reach the quota");

    // N+1 refused, whichever node it lands on, with the code and its retry hint.
    for (const node of [A, B]) {
      const socket = rawSocket(cluster.nodes[node]!.url, owner.publishableKey);
      sockets.push(socket);
      const error = await new Promise<unknown>((resolve) =>
        socket.once("connect_error", (err: Error & { data?: unknown }) => resolve(err.data)),
      );
      expect(error).toMatchObject({ code: "OVER_CONNECTION_QUOTA", retry: "never" });
    }

    // One leaves (on B); a new one is admitted, on A, once B's count says so.
    second.socket.disconnect();
    await until(async () => (await stats()) === MAX - 1, "the freed connection to be counted");
    const replacement = await connectTo(A);
    expect(replacement.result).toBe("connected");
    expect((await connectTo(B)).result).toBe("OVER_CONNECTION_QUOTA");

    // Node A (all 3 connections) dies without a word; no one cleans up after it. B admits
    // again within A's lease at the latest (at once here: Redis saw A's connection close,
    // so A's share is left out before its lease expires).
    await cluster.nodes[A]!.stop("SIGKILL");
    const killedAt = Date.now();
    let freedAfter = -1;
    while (Date.now() - killedAt < LEASE_MS + 5_000) {
      const attempt = await connectTo(B);
      if (attempt.result === "connected") {
        freedAfter = Date.now() - killedAt;
        break;
      }
      expect(attempt.result).toBe("OVER_CONNECTION_QUOTA");
      await sleep(200);
    }
    expect(freedAfter).toBeGreaterThanOrEqual(0);
    // Within the lease (plus the one refresh period a lease can lag, and test slack): a
    // product bound, timed on purpose (docs/limits.md: a dead node's share is freed when
    // its lease expires).
    expect(freedAfter).toBeLessThanOrEqual(LEASE_MS + LEASE_MS / 3 + 1_000);

    // B alone now holds the app's whole quota, whether A's lease has expired yet or not.
    expect((await connectTo(B)).result).toBe("connected");
    expect((await connectTo(B)).result).toBe("connected");
    expect((await connectTo(B)).result).toBe("OVER_CONNECTION_QUOTA");
    // And once A's lease has expired, the plain count agrees. A product bound, timed on
    // purpose: a dead node's connections stop counting when its lease (LEASE_MS) runs out.
    await until(async () => (await stats()) === MAX, "A's lease to expire", { timeoutMs: LEASE_MS + 2_000 });
  });
});
