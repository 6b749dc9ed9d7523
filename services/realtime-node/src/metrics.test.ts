import { EventEmitter } from "node:events";
import { AppLabels, createLogger, OTHER_APPS, PLANS, Registry } from "@relaybase/server-kit";
import { createClient } from "redis";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareStreamIds, observeAdapterLag } from "./metrics.js";
import { connected, emitAck, startNode } from "./test-fixtures.js";
import type { RealtimeServer } from "./types.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = createClient({ url: REDIS_URL });
const stream = `rbtest:adapter-lag:${Math.random().toString(36).slice(2)}`;

/** A server with one namespace whose adapter has the streams adapter's `onRawMessage`. */
function fakeServer() {
  const delivered: string[] = [];
  const adapter = {
    onRawMessage(_message: unknown, offset: string) {
      delivered.push(offset);
    },
  };
  const io = Object.assign(new EventEmitter(), { _nsps: new Map([["/", { name: "/", adapter }]]) });
  return { io: io as unknown as RealtimeServer, adapter, delivered };
}

const add = (n: number) => redis.xAdd(stream, "*", { nsp: "/", n: String(n) });
const lag = async (registry: Registry) =>
  Number((await registry.getSingleMetricAsString("relaybase_adapter_stream_lag_entries")).split(" ").at(-1));

beforeAll(async () => {
  await redis.connect();
  await add(0); // an entry from before the node started
});
afterAll(async () => {
  await redis.del(stream);
  await redis.quit();
});

describe("relaybase_adapter_stream_lag_entries", () => {
  it("counts the stream's entries after the last one the adapter handed to a namespace, capped at maxLen", async () => {
    const { io, adapter, delivered } = fakeServer();
    const registry = new Registry();
    await observeAdapterLag(io, redis, registry, {
      streamName: stream,
      maxLen: 4,
      logger: createLogger("t", "silent"),
    });
    // Starts at the head (the adapter reads from `$`): the entry from before is not behind.
    expect(await lag(registry)).toBe(0);

    const ids = [await add(1), await add(2), await add(3)];
    expect(await lag(registry)).toBe(3);
    adapter.onRawMessage({}, ids[0] as string);
    expect(delivered).toEqual([ids[0]]); // the adapter's own handling still runs
    expect(await lag(registry)).toBe(2);
    adapter.onRawMessage({}, ids[2] as string);
    expect(await lag(registry)).toBe(0);

    for (let i = 0; i < 6; i++) await add(10 + i);
    expect(await lag(registry)).toBe(4);
  });

  it("orders stream ids by time, then sequence", () => {
    expect(compareStreamIds("2-0", "10-0")).toBe(-1);
    expect(compareStreamIds("10-2", "10-10")).toBe(-1);
    expect(compareStreamIds("10-10", "10-10")).toBe(0);
    expect(compareStreamIds("1700000000000-1", "1700000000000-0")).toBe(1);
  });
});

describe("a node's series", () => {
  const sample = async (registry: Registry, name: string, labels: Record<string, string>) => {
    const metric = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return metric
      .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k as never]) === want))
      .reduce((sum, v) => sum + v.value, 0);
  };
  const outcome = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("connect_error", (err: Error & { data?: { code: string } }) =>
        resolve(err.data?.code ?? err.message),
      );
    });

  it("count limit refusals by app and code: a handshake over the connection quota, a publish over the rate", async () => {
    const f = await startNode({ METRICS_APP_LABELS: 10 });
    try {
      const registry = f.node.metrics.registry;
      const app = await f.addApp({
        limits: { ...PLANS.free, maxConnections: 1, clientPublishesPerSecond: 1 },
        anonymousCaps: { "*": ["subscribe", "publish"] },
      });
      const key = app.publishableKeys[0] as string;
      const first = await connected(f.client({ key }));
      expect(await outcome(f.client({ key }))).toBe("OVER_CONNECTION_QUOTA");
      await expect
        .poll(() =>
          sample(registry, "relaybase_limit_refusals_total", {
            app: app.appId,
            code: "OVER_CONNECTION_QUOTA",
          }),
        )
        .toBe(1);
      expect(
        await sample(registry, "relaybase_handshake_refusals_total", { code: "OVER_CONNECTION_QUOTA" }),
      ).toBe(1);
      expect(await sample(registry, "relaybase_connections", { app: app.appId })).toBe(1);

      const acks = [];
      for (let i = 0; i < 3; i++)
        acks.push(await emitAck(first, "publish", { room: "r", event: "e", data: {}, id: `m${i}` }));
      expect(acks.map((a) => a.ok)).toContain(false);
      const refused = acks.filter((a) => !a.ok).length;
      expect(
        await sample(registry, "relaybase_limit_refusals_total", { app: app.appId, code: "RATE_LIMITED" }),
      ).toBe(refused);
      expect(await sample(registry, "relaybase_messages_published_total", { app: app.appId })).toBe(
        3 - refused,
      );
    } finally {
      await f.close();
    }
  });
});

describe("AppLabels", () => {
  it("keeps the first `max` app ids and counts the rest as _other", () => {
    const labels = new AppLabels(2);
    expect(["a", "b", "c", "a", "d", "b"].map((id) => labels.of(id))).toEqual([
      "a",
      "b",
      OTHER_APPS,
      "a",
      OTHER_APPS,
      "b",
    ]);
  });
});
