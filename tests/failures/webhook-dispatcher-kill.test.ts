import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  startWebhookReceiver,
  type TestDatabase,
  type WebhookReceiver,
} from "@relaybase/control-plane/testing";
import { createRedisClient, RedisWebhookStream } from "@relaybase/redis-kit";
import { webhookEvent } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "../../scripts/cluster/processes.js";
import { signUpDeveloper, until } from "../fixtures.js";

/**
 * The webhook dispatcher as its own process (`dispatcher-main.ts`) on Postgres, fed by
 * the Redis stream realtime nodes write to, killed with SIGKILL while 1 000 events are
 * pending and a batch is in flight: after a restart every event arrives at least once,
 * and the duplicates (the batch that was in flight) are counted.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const EVENTS = 1_000;
const BATCH = 20;

const env = {
  WEBHOOK_DISPATCHER: "false",
  WEBHOOK_ALLOW_HTTP: "true",
  WEBHOOK_ALLOW_PRIVATE_URLS: "true",
  WEBHOOK_BATCH_MAX: String(BATCH),
  WEBHOOK_LEASE_MS: "2000",
  WEBHOOK_TIMEOUT_MS: "1500",
  WEBHOOK_POLL_MS: "50",
  LOG_LEVEL: "warn",
};

function startDispatcher(database: TestDatabase, redisUrl: string) {
  let output = "";
  const child = spawn(
    process.execPath,
    ["--import", "tsx", `${root}services/control-plane/src/dispatcher-main.ts`],
    {
      cwd: root,
      env: { ...process.env, ...env, DATABASE_URL: database.env.DATABASE_URL!, REDIS_URL: redisUrl },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  return {
    output: () => output,
    kill(signal: NodeJS.Signals) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill(signal);
      return exited;
    },
  };
}

let database: TestDatabase;
let cluster: Cluster;
let receiver: WebhookReceiver;
const cleanup: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  database = await createTestDatabase("postgres");
  cluster = await startCluster({ nodes: 1, restInstances: 0, databaseUrl: database.env.DATABASE_URL!, env });
  receiver = await startWebhookReceiver();
}, 120_000);
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  await receiver?.close();
  await cluster?.close();
  await database?.drop();
}, 60_000);

describe("webhook dispatcher killed with -9", () => {
  it("delivers every one of 1 000 pending events at least once after a restart, and counts the duplicates", async () => {
    // No REST instance here: the server helper signUpDeveloper makes is not used.
    const dev = await signUpDeveloper(
      { controlPlane: cluster.controlPlane.url, rest: cluster.controlPlane.url },
      { name: "kill" },
    );
    await dev.trpc.webhooks.create.mutate({
      appId: dev.appId,
      url: receiver.url,
      events: ["client.published"],
      clientRooms: ["orders:*"],
    });
    // Slow answers: a batch is in flight most of the time.
    receiver.respond = () => ({ status: 200, delayMs: 300 });

    let dispatcher = startDispatcher(database, cluster.redisUrl);
    cleanup.push(() => dispatcher.kill("SIGKILL"));
    // The events, written to the cluster's stream the way a realtime node writes them.
    const redis = createRedisClient(cluster.redisUrl, { name: "test-webhook-source" });
    await redis.connect();
    cleanup.push(() => redis.quit());
    const stream = new RedisWebhookStream(redis);
    const ids: string[] = [];
    for (let i = 1; i <= EVENTS; i++) {
      const event = webhookEvent("client.published", dev.appId, {
        room: "orders:1",
        event: "placed",
        data: { n: i },
        id: `m${i}`,
        offset: i,
        connectionId: "c1",
      });
      ids.push(event.id);
      stream.emit(event);
    }
    await stream.close();

    const counts = async () =>
      (
        await database.query!(
          "select status, count(*)::int as n from webhook_deliveries where app_id = $1 group by status",
          [dev.appId],
        )
      ).rows as { status: string; n: number }[];
    const pending = async () => (await counts()).find((r) => r.status === "pending")?.n ?? 0;
    // Ingested into the outbox, and the first batch on its way.
    await until(
      async () => (await counts()).reduce((n, r) => n + r.n, 0) === EVENTS,
      "all events in the outbox",
      {
        detail: dispatcher.output,
      },
    );
    await until(() => receiver.inProgress > 0, "a batch in flight", { detail: dispatcher.output });
    const pendingAtKill = await pending();
    const receivedAtKill = receiver.acceptedEventIds().length;
    await dispatcher.kill("SIGKILL");
    expect(pendingAtKill).toBeGreaterThan(EVENTS - 3 * BATCH);

    dispatcher = startDispatcher(database, cluster.redisUrl);
    await until(async () => new Set(receiver.acceptedEventIds()).size === EVENTS, "every event delivered", {
      timeoutMs: 120_000,
      detail: () =>
        `${new Set(receiver.acceptedEventIds()).size} distinct of ${EVENTS}\n${dispatcher.output()}`,
    });
    await until(async () => (await pending()) === 0, "nothing pending");

    const accepted = receiver.acceptedEventIds();
    expect(new Set(accepted)).toEqual(new Set(ids));
    const duplicates = accepted.length - EVENTS;
    console.log(
      `webhook dispatcher SIGKILL: ${pendingAtKill} pending and ${receivedAtKill} received at the kill; ` +
        `after restart ${EVENTS} of ${EVENTS} delivered, ${duplicates} duplicates (batch size ${BATCH})`,
    );
    // Only the batch in flight at the kill can arrive twice.
    expect(duplicates).toBeLessThanOrEqual(BATCH);
    // In order: the first arrival of each event follows the order they happened in.
    const firstSeen = [...new Set(accepted)];
    expect(firstSeen).toEqual(ids);
  }, 180_000);
});
