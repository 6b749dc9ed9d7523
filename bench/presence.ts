/**
 * Benchmark: presence (issue 10, item 6). One process, one real realtime node (Socket.IO on
 * port 0) and real SDK clients over WebSocket, for each store: memory (embedded, `npm
 * start`) and Redis (`RedisPresence` on a redis-server of its own, as in a cluster).
 *
 * - **enter / leave rate**: `--members` members enter one room through a node's presence
 *   (`createNodePresence`, announcing through the node's adapter as a client's enter does),
 *   `--concurrency` at a time; then all leave. Reported: members per second stored, and
 *   per second delivered to a subscribed SDK client (until it had every event).
 * - **sync**: a room holding 1 000 / 10 000 members (added without announcements); a new
 *   SDK client subscribes with a `sync` listener. Reported: subscribe → full set.
 *
 * Not pinned, no quiet-machine wait: the numbers are for orders of magnitude; say so where
 * they are quoted (docs/benchmarks.md).
 *
 *   npm run bench:presence -- [--runs 5] [--members 2000] [--concurrency 100] [--sizes 1000,10000]
 *     [--out bench/results/presence.json]
 */
import { resolve } from "node:path";
import { createNodePresence } from "@relaybase/realtime-node";
import { type NodeFixture, startNode } from "@relaybase/realtime-node/testing";
import { createRedisClient, RedisPresence } from "@relaybase/redis-kit";
import { OwnRedisServer } from "@relaybase/redis-kit/testing";
import { createClient, type PresenceMember } from "@relaybase/sdk";
import {
  type AppRuntime,
  createLogger,
  MemoryPresenceStore,
  NodePresence,
  PLANS,
  type PresenceStore,
} from "@relaybase/server-kit";
import { load1, machineFacts, parseArgs, root, writeResults } from "./lib/rig.js";
import { fmtSpread, spread } from "./lib/stats.js";

const args = parseArgs(process.argv.slice(2));
const runs = Number(args.runs ?? 5);
const members = Number(args.members ?? 2_000);
const concurrency = Number(args.concurrency ?? 100);
const sizes = (args.sizes ?? "1000,10000").split(",").map(Number);
const out = resolve(root, args.out ?? "bench/results/presence.json");
const logger = createLogger("bench", "silent");

interface StoreSetup {
  name: "memory" | "redis";
  /** The node's store, and a fresh one for a loader "node" (the same object in memory). */
  nodeStore(): PresenceStore;
  loaderStore(): PresenceStore;
  close(): Promise<void>;
}

const conn = (n: number) => `b${String(n).padStart(19, "0")}`;
const user = (n: number) => `u-${String(n).padStart(6, "0")}`;

async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function until(check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function subscriber(f: NodeFixture, app: AppRuntime, sub: string) {
  const token = await f.token(app.appId, { "bench:*": ["subscribe", "presence"] }, { sub });
  const client = createClient({
    key: app.publishableKeys[0]!,
    url: f.url,
    transports: ["websocket"],
    getToken: async () => token,
  });
  await until(() => client.state === "connected", 10_000);
  return client;
}

async function measureStore(setup: StoreSetup) {
  const f = await startNode({ PRESENCE_GRACE_MS: 0 }, { presence: setup.nodeStore() });
  const app = await f.addApp({ plan: "scale", limits: { ...PLANS.scale } });
  const enterRate: number[] = [];
  const enterDelivered: number[] = [];
  const leaveDelivered: number[] = [];
  const syncMs = new Map<number, number[]>(sizes.map((s) => [s, []]));
  try {
    for (let run = 0; run < runs; run++) {
      // Enter / leave through a presence that announces (a second "node" on the same store).
      const room = `bench:rate-${run}`;
      const loud = createNodePresence(f.node.io, { store: setup.loaderStore(), graceMs: 0, logger });
      const watcher = await subscriber(f, app, `watcher-${run}`);
      let enters = 0;
      let leaves = 0;
      watcher.room(room).presence.on("enter", () => enters++);
      watcher.room(room).presence.on("leave", () => leaves++);
      await watcher.room(room).subscribe();
      let t0 = performance.now();
      await pool(members, concurrency, (i) =>
        loud.enter({ app, room, userId: user(i), connectionId: conn(i), data: { i } }),
      );
      enterRate.push(members / ((performance.now() - t0) / 1000));
      await until(() => enters === members);
      enterDelivered.push(members / ((performance.now() - t0) / 1000));
      t0 = performance.now();
      for (let i = 0; i < members; i++) loud.disconnected(conn(i), true);
      await until(() => leaves === members);
      leaveDelivered.push(members / ((performance.now() - t0) / 1000));
      watcher.close();
      await loud.close();

      // Sync of a big room: members added without announcements, then a new subscriber.
      for (const size of sizes) {
        const bigRoom = `bench:sync-${size}-${run}`;
        const quiet = new NodePresence({
          store: setup.loaderStore(),
          graceMs: 0,
          logger,
          announce: () => {},
        });
        await pool(size, concurrency, (i) =>
          quiet.enter({ app, room: bigRoom, userId: user(i), connectionId: conn(i), data: { i } }),
        );
        const late = await subscriber(f, app, `late-${size}-${run}`);
        let synced: PresenceMember[] | undefined;
        late.room(bigRoom).presence.on("sync", (m) => {
          synced = m;
        });
        const s0 = performance.now();
        await late.room(bigRoom).subscribe();
        await until(() => synced !== undefined);
        syncMs.get(size)!.push(performance.now() - s0);
        if (synced!.length !== size) throw new Error(`synced ${synced!.length} of ${size}`);
        late.close();
        for (let i = 0; i < size; i++) quiet.disconnected(conn(i), true);
        while ((await quiet.count(app.appId, bigRoom)) > 0) await new Promise((r) => setTimeout(r, 20));
        await quiet.close();
      }
      console.error(
        `[presence] ${setup.name} run ${run + 1}/${runs}: enter ${Math.round(enterRate.at(-1)!)}/s stored, ` +
          `${Math.round(enterDelivered.at(-1)!)}/s delivered; leave ${Math.round(leaveDelivered.at(-1)!)}/s delivered; ` +
          sizes.map((s) => `sync ${s} ${Math.round(syncMs.get(s)!.at(-1)!)} ms`).join(", ") +
          `; load ${load1()}`,
      );
    }
  } finally {
    await f.close();
    await setup.close();
  }
  return {
    store: setup.name,
    enterStoredPerSec: spread(enterRate),
    enterDeliveredPerSec: spread(enterDelivered),
    leaveDeliveredPerSec: spread(leaveDelivered),
    syncMs: Object.fromEntries([...syncMs].map(([s, v]) => [s, spread(v)])),
  };
}

function memorySetup(): StoreSetup {
  const store = new MemoryPresenceStore();
  return { name: "memory", nodeStore: () => store, loaderStore: () => store, close: async () => {} };
}

async function redisSetup(): Promise<StoreSetup> {
  const server = await OwnRedisServer.start();
  // The node's connection, and one for the loader "nodes" (each store its own node id and lease).
  const nodeClient = createRedisClient(server.url);
  const loaderClient = createRedisClient(server.url);
  await Promise.all([nodeClient.connect(), loaderClient.connect()]);
  return {
    name: "redis",
    // A generous command timeout: this measures throughput, not the node's fail-fast path.
    nodeStore: () => new RedisPresence(nodeClient, { commandTimeoutMs: 30_000 }),
    loaderStore: () => new RedisPresence(loaderClient, { commandTimeoutMs: 30_000 }),
    async close() {
      for (const c of [nodeClient, loaderClient]) await c.quit().catch(() => {});
      await server.stop();
    },
  };
}

const facts = machineFacts();
console.error(`[presence] ${JSON.stringify(facts)}`);
const results = [await measureStore(memorySetup()), await measureStore(await redisSetup())];
const rate = (s: ReturnType<typeof spread>) => fmtSpread(s, (x) => Math.round(x).toLocaleString("en-US"));
const ms = (s: ReturnType<typeof spread>) => fmtSpread(s, (x) => `${Math.round(x)} ms`);
console.log(
  `| store | enters stored /s | enters delivered /s | leaves delivered /s | ${sizes.map((s) => `sync ${s.toLocaleString("en-US")}`).join(" | ")} |`,
);
console.log(`|---|---|---|---|${sizes.map(() => "---").join("|")}|`);
for (const r of results) {
  console.log(
    `| ${r.store} | ${rate(r.enterStoredPerSec)} | ${rate(r.enterDeliveredPerSec)} | ${rate(r.leaveDeliveredPerSec)} | ${sizes
      .map((s) => ms(r.syncMs[s]!))
      .join(" | ")} |`,
  );
}
writeResults(out, { facts, options: { runs, members, concurrency, sizes }, results, loadAfter: load1() });
process.exit(0);
