import { EventEmitter } from "node:events";
import { createLogger, Registry } from "@relaybase/server-kit";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareStreamIds, observeAdapterLag } from "./metrics.js";
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
