import type { MessageEnvelope } from "@relaybase/protocol";
import { describe, expect, it } from "vitest";
import { MemoryRoomHistory } from "./history.js";
import { PLANS } from "./plans.js";
import { Publisher } from "./publisher.js";
import type { AppRuntime } from "./tenant-directory.js";
import { HOUR_MS, hourOf, type UsageBatch, type UsageDelta, UsageMeter } from "./usage-meter.js";

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);

function recorder() {
  const batches: UsageBatch[] = [];
  let failing = false;
  return {
    batches,
    fail(on: boolean) {
      failing = on;
    },
    sink: async (batch: UsageBatch) => {
      if (failing) throw new Error("sink down");
      batches.push(structuredClone(batch));
    },
  };
}

const byKey = (deltas: UsageDelta[]) =>
  Object.fromEntries(deltas.map((d) => [`${new Date(d.hour).toISOString()} ${d.appId}`, d]));

describe("UsageMeter", () => {
  it("adds up per app and UTC hour, hands the deltas to the sink and starts afresh", async () => {
    let now = T0 + 59 * 60_000;
    const sink = recorder();
    const meter = new UsageMeter({ sink: sink.sink, now: () => now });
    meter.published("app_a", 10);
    meter.published("app_a", 5);
    meter.delivered("app_a", 10);
    meter.delivered("app_a", 10);
    meter.delivered("app_a", 10);
    meter.published("app_b", 7);
    now = T0 + HOUR_MS; // 11:00:00.000, the next hour
    meter.published("app_a", 1);
    meter.delivered("app_a", 1);

    await meter.flush();
    expect(sink.batches).toHaveLength(1);
    expect(byKey(sink.batches[0]!.deltas)).toEqual({
      "2025-01-15T10:00:00.000Z app_a": {
        appId: "app_a",
        hour: T0,
        published: 2,
        bytesPublished: 15,
        delivered: 3,
        bytesDelivered: 30,
      },
      "2025-01-15T10:00:00.000Z app_b": {
        appId: "app_b",
        hour: T0,
        published: 1,
        bytesPublished: 7,
        delivered: 0,
        bytesDelivered: 0,
      },
      "2025-01-15T11:00:00.000Z app_a": {
        appId: "app_a",
        hour: T0 + HOUR_MS,
        published: 1,
        bytesPublished: 1,
        delivered: 1,
        bytesDelivered: 1,
      },
    });
    expect(meter.pending()).toEqual([]);
    await meter.flush(); // nothing new: the sink is not called
    expect(sink.batches).toHaveLength(1);
  });

  it("keeps a failed batch, with its id, and sends it before newer counts", async () => {
    const sink = recorder();
    const meter = new UsageMeter({ sink: sink.sink, now: () => T0 });
    meter.published("app_a", 3);
    sink.fail(true);
    await expect(meter.flush()).rejects.toThrow("sink down");
    meter.published("app_a", 4);
    await expect(meter.flush()).rejects.toThrow("sink down");
    expect(meter.pending()).toEqual([
      { appId: "app_a", hour: T0, published: 2, bytesPublished: 7, delivered: 0, bytesDelivered: 0 },
    ]);
    sink.fail(false);
    await meter.flush();
    expect(sink.batches.map((b) => b.deltas.map((d) => d.published))).toEqual([[1], [1]]);
    const [first, second] = sink.batches;
    expect(first!.id).not.toBe(second!.id);
    expect(meter.pending()).toEqual([]);
  });

  it("retries a failed batch under the same id", async () => {
    const ids: string[] = [];
    let calls = 0;
    const meter = new UsageMeter({
      now: () => T0,
      sink: async (batch) => {
        ids.push(batch.id);
        if (++calls === 1) throw new Error("timeout");
      },
    });
    meter.published("app_a", 1);
    await expect(meter.flush()).rejects.toThrow();
    await meter.flush();
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it("measures a delivered envelope's data once per envelope object", async () => {
    const sink = recorder();
    const meter = new UsageMeter({ sink: sink.sink, now: () => T0 });
    const envelope = {
      room: "r",
      id: "m",
      event: "e",
      data: { text: "héllo" },
      ts: 0,
      offset: 1,
      epoch: "x",
    };
    const bytes = Buffer.byteLength(JSON.stringify(envelope.data));
    const original = JSON.stringify;
    let encodings = 0;
    JSON.stringify = ((...args: Parameters<typeof original>) => {
      encodings++;
      return original(...args);
    }) as typeof original;
    try {
      for (let i = 0; i < 1_000; i++) meter.deliveredEnvelope("app_a", envelope as MessageEnvelope);
    } finally {
      JSON.stringify = original;
    }
    expect(encodings).toBe(1);
    await meter.flush();
    expect(sink.batches[0]!.deltas[0]).toMatchObject({ delivered: 1_000, bytesDelivered: 1_000 * bytes });
  });

  it("flushes on its timer and on close", async () => {
    const sink = recorder();
    const meter = new UsageMeter({ sink: sink.sink, flushMs: 20 });
    meter.published("app_a", 1);
    // One batch from the timer; its later ticks have nothing to send.
    await expect.poll(() => sink.batches.length, { message: "the timer's flush" }).toBe(1);
    meter.published("app_a", 1);
    await meter.close();
    expect(sink.batches.length).toBe(2);
  });

  it("rounds to the UTC hour", () => {
    expect(hourOf(T0 + HOUR_MS - 1)).toBe(T0);
    expect(hourOf(T0 + HOUR_MS)).toBe(T0 + HOUR_MS);
  });
});

describe("Publisher with a usage observer", () => {
  const app: AppRuntime = {
    appId: "app_pub",
    orgId: "org_1",
    name: "t",
    plan: "free",
    allowedOrigins: [],
    anonymousCaps: {},
    clientPublish: true,
    limits: { ...PLANS.free },
    publishableKeys: [],
    secretKeys: [],
  };

  it("counts messages stored, once per id, with the size of their data", async () => {
    const sink = recorder();
    const meter = new UsageMeter({ sink: sink.sink });
    const publisher = new Publisher(
      new MemoryRoomHistory(),
      { deliver: () => {}, deliverToUser: () => {}, disconnectUser: () => {}, deliverDebug: () => {} },
      meter,
    );
    await publisher.publish({ app, room: "r", event: "e", data: "abc" }); // "abc" with quotes: 5 bytes
    await publisher.publish({ app, room: "r", event: "e", data: { n: 1 }, id: "same" }); // 7 bytes
    await publisher.publish({ app, room: "r", event: "e", data: { n: 1 }, id: "same" }); // a retry
    await expect(publisher.publish({ app, room: "bad room!", event: "e", data: 1 })).rejects.toThrow();
    await meter.flush();
    expect(sink.batches[0]!.deltas).toEqual([
      expect.objectContaining({ appId: "app_pub", published: 2, bytesPublished: 12, delivered: 0 }),
    ]);
  });
});
