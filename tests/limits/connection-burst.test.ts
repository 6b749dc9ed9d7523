/**
 * A reconnect storm is a burst of handshakes for one app: every client of a dead node
 * comes back at once. Under the quota, every one of them must be admitted: a socket is
 * counted exactly once (a defect counted sockets admitted a moment ago both as open and
 * as still deciding, and refused half a burst with `retry: never`). Embedded (one node)
 * and split over two nodes of a cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Cluster, startCluster } from "../../scripts/cluster/processes.js";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { connectionCount, poll, signUpDeveloper } from "../fixtures.js";
import { createTestDatabase, setLimits, type TestDatabase } from "./fixtures.js";

const CLIENTS = 300;
const QUOTA = CLIENTS + 10;
const limits = { maxConnections: QUOTA, connectionsPerSecondPerIp: 100_000 };

/**
 * Opens `CLIENTS` WebSockets (Engine.IO open, spread over `urls`), then sends every
 * Socket.IO CONNECT in one synchronous loop: the node reads them in one turn of its
 * event loop, as a node does after a stall while hundreds of clients reconnect at once.
 * Resolves with how many were accepted and the codes of the refused.
 */
async function burst(urls: string[], key: string, sockets: WebSocket[]): Promise<Map<string, number>> {
  const opened = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) => {
      const ws = new WebSocket(
        `${urls[i % urls.length]!.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`,
      );
      sockets.push(ws);
      return new Promise<WebSocket>((resolve, reject) => {
        ws.once("error", reject);
        ws.once("message", () => resolve(ws)); // the Engine.IO open packet
      });
    }),
  );
  const results = opened.map(
    (ws) =>
      new Promise<string>((resolve) => {
        ws.on("message", (raw) => {
          const frame = raw.toString();
          if (frame === "2") ws.send("3");
          else if (frame.startsWith("40")) resolve("connected");
          else if (frame.startsWith("44")) resolve(JSON.parse(frame.slice(2)).data?.code ?? frame);
        });
      }),
  );
  const connect = `40${JSON.stringify({ key })}`;
  for (const ws of opened) ws.send(connect);
  const tally = new Map<string, number>();
  for (const r of await Promise.all(results)) tally.set(r, (tally.get(r) ?? 0) + 1);
  return tally;
}

describe(`a burst of ${CLIENTS} handshakes under a quota of ${QUOTA}`, () => {
  let db: TestDatabase;
  const sockets: WebSocket[] = [];
  beforeAll(async () => {
    db = await createTestDatabase("postgres");
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await db?.drop();
  });

  describe("on one node (embedded)", () => {
    let p: TestPlatform;
    beforeAll(async () => {
      p = await startTestPlatform({ DATABASE_URL: db.env.DATABASE_URL! });
    });
    afterAll(() => p?.close());

    it("admits every one, and counts each once", async () => {
      const owner = await signUpDeveloper(p.urls, { name: "burst" });
      await setLimits(db, owner, limits);
      const tally = await burst([p.urls.realtime], owner.publishableKey, sockets);
      expect(Object.fromEntries(tally)).toEqual({ connected: CLIENTS });
      expect(await connectionCount(p.urls.rest, owner)).toBe(CLIENTS);
    }, 120_000);
  });

  describe("split over two nodes", () => {
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await startCluster({ nodes: 2, restInstances: 1, databaseUrl: db.env.DATABASE_URL! });
    }, 90_000);
    afterAll(() => cluster?.close(), 30_000);

    it("admits every one, and the cluster counts each once", async () => {
      const owner = await signUpDeveloper(
        { controlPlane: cluster.controlPlane.url, rest: cluster.rest[0]!.url },
        { name: "burst" },
      );
      await setLimits(db, owner, limits);
      const tally = await burst(
        cluster.nodes.map((n) => n.url),
        owner.publishableKey,
        sockets,
      );
      expect(Object.fromEntries(tally)).toEqual({ connected: CLIENTS });
      // Each node writes its count at once; the sum settles on the exact number.
      await poll("the cluster's count to settle", () => connectionCount(cluster.rest[0]!.url, owner)).toBe(
        CLIENTS,
      );
    }, 120_000);
  });
});
