/**
 * Usage metering end to end, embedded (the all-in-one platform on a fresh Postgres
 * database): real SDK clients and REST publishes, the node's meter flushing straight into
 * the control plane's rollup, and what the console reads back.
 */
import {
  consoleClient,
  createTestDatabase,
  relaybaseCodeOf,
  type TestDatabase,
  uniqueEmail,
} from "@relaybase/control-plane/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { until } from "../fixtures.js";

let db: TestDatabase;
let p: TestPlatform;
beforeAll(async () => {
  db = await createTestDatabase("postgres");
  p = await startTestPlatform({
    ...db.env,
    USAGE_FLUSH_MS: "100",
    USAGE_ROLLUP_MS: "200",
    METRICS_PORT: "0",
  });
});
afterAll(async () => {
  await p?.close();
  await db?.drop();
});

const bytesOf = (data: unknown) => Buffer.byteLength(JSON.stringify(data));
const caps = { "chat:*": ["subscribe", "publish"] as ("subscribe" | "publish")[] };

type Developer = Awaited<ReturnType<TestPlatform["developer"]>>;

async function today(dev: Developer) {
  return dev.trpc.usage.today.query({ appId: dev.appId });
}

describe("usage metering (embedded)", () => {
  it("counts each message once when published and once per recipient socket, with its bytes", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    const clients = [0, 1, 2].map((i) =>
      p.client({
        key: dev.publishableKey,
        getToken: async () => (await dev.server.createToken({ userId: `u${i}`, capabilities: caps })).token,
      }),
    );
    const received = [0, 0, 0];
    const rooms = clients.map((c, i) => {
      const room = c.room("chat:usage");
      room.on("m", () => received[i]!++);
      return room;
    });
    await Promise.all(rooms.map((r) => r.subscribe()));

    let bytes = 0;
    for (let n = 1; n <= 10; n++) {
      const data = { n, text: "é".repeat(n) }; // multi-byte: bytes, not characters
      bytes += bytesOf(data);
      await dev.server.publish({ room: "chat:usage", event: "m", data });
    }
    for (let n = 1; n <= 5; n++) {
      const data = { from: "client", n, pad: "x".repeat(10 * n) };
      bytes += bytesOf(data);
      await rooms[n % 3]!.publish("m", data);
    }
    // A retried REST publish (same id) is stored once, so it counts as published once; the
    // retry is sent to the sockets again (the SDK drops the copy by offset), and what is
    // sent counts as delivered.
    const data = { retried: true };
    await dev.server.publish({ room: "chat:usage", event: "m", data, id: "retry-me" });
    await dev.server.publish({ room: "chat:usage", event: "m", data, id: "retry-me" });
    bytes += bytesOf(data);
    await until(() => received.every((n) => n === 16), "every client to get every message");

    await until(async () => {
      const t = await today(dev);
      return t.published === 16 && t.delivered === 51;
    }, "the usage to be rolled up");
    // Nothing is counted twice by a later flush or rollup: a marker published after
    // everything above is counted by a later one, and then the totals are exact.
    const marker = { marker: true };
    await dev.server.publish({ room: "chat:usage", event: "m", data: marker });
    bytes += bytesOf(marker);
    await until(() => received.every((n) => n === 17), "every client to get the marker");
    await until(async () => {
      const t = await today(dev);
      return t.published >= 17 && t.delivered >= 54;
    }, "the marker to be counted");
    const t = await today(dev);
    expect(t).toMatchObject({
      published: 17,
      bytesPublished: bytes,
      delivered: 3 * 17 + 3,
      bytesDelivered: 3 * bytes + 3 * bytesOf(data),
      peakConnections: 3,
      messagesPerDay: 200_000,
    });
    const deliveries = t.delivered;

    // The series says the same (summed, in case the test straddled an hour).
    const hours = await dev.trpc.usage.series.query({ appId: dev.appId, granularity: "hour" });
    expect(hours).toHaveLength(24);
    const sum = (key: "published" | "delivered" | "bytesPublished" | "bytesDelivered") =>
      hours.reduce((a, h) => a + h[key], 0);
    expect([sum("published"), sum("delivered"), sum("bytesPublished"), sum("bytesDelivered")]).toEqual([
      17,
      deliveries,
      bytes,
      t.bytesDelivered,
    ]);
    const days = await dev.trpc.usage.series.query({ appId: dev.appId, granularity: "day" });
    expect(days).toHaveLength(30);
    expect(days.at(-1)).toMatchObject({ published: 17, delivered: deliveries, peakConnections: 3 });

    // Another app saw nothing, and cannot read this one.
    expect(await today(other)).toMatchObject({
      published: 0,
      delivered: 0,
      bytesPublished: 0,
      peakConnections: 0,
    });
    expect(await relaybaseCodeOf(other.trpc.usage.today.query({ appId: dev.appId }))).toBe("NOT_FOUND");
    const { client: stranger } = consoleClient(p.urls.controlPlane);
    await stranger.auth.signup.mutate({ email: uniqueEmail("stranger"), password: "correct horse battery" });
    expect(await relaybaseCodeOf(stranger.usage.series.query({ appId: dev.appId, granularity: "day" }))).toBe(
      "NOT_FOUND",
    );
  });

  it("counts exactly 15 published and 45 delivered for 10 REST + 5 client publishes to 3 sockets", async () => {
    const dev = await p.developer();
    const clients = [0, 1, 2].map((i) =>
      p.client({
        key: dev.publishableKey,
        getToken: async () => (await dev.server.createToken({ userId: `v${i}`, capabilities: caps })).token,
      }),
    );
    const received = [0, 0, 0];
    const rooms = clients.map((c, i) => {
      const room = c.room("chat:exact");
      room.on("m", () => received[i]!++);
      return room;
    });
    await Promise.all(rooms.map((r) => r.subscribe()));
    let bytes = 0;
    for (let n = 1; n <= 10; n++) {
      const data = "r".repeat(n * 7);
      bytes += bytesOf(data);
      await dev.server.publish({ room: "chat:exact", event: "m", data });
    }
    for (let n = 1; n <= 5; n++) {
      const data = { c: n };
      bytes += bytesOf(data);
      await rooms[0]!.publish("m", data);
    }
    await until(() => received.every((n) => n === 15), "every client to get 15 messages");
    await until(async () => {
      const t = await today(dev);
      return t.published === 15 && t.delivered === 45;
    }, "15 published and 45 delivered");
    // A 16th message as a marker: once a later flush and rollup counted it, nothing of
    // the first 15 has been counted twice.
    await dev.server.publish({ room: "chat:exact", event: "m", data: "marker" });
    bytes += bytesOf("marker");
    await until(() => received.every((n) => n === 16), "every client to get the marker");
    await until(async () => {
      const t = await today(dev);
      return t.published >= 16 && t.delivered >= 48;
    }, "the marker to be counted");
    expect(await today(dev)).toMatchObject({
      published: 16,
      delivered: 48,
      bytesPublished: bytes,
      bytesDelivered: 3 * bytes,
    });
  });

  it("warns once per day at 80% of the daily message quota (an operator override)", async () => {
    const dev = await p.developer();
    await db.query!(`insert into app_limit_overrides (app_id, limits) values ($1, $2)`, [
      dev.appId,
      JSON.stringify({ messagesPerDay: 10 }),
    ]);
    await dev.trpc.apps.update.mutate({ appId: dev.appId, name: "quota test" }); // re-syncs the limits
    expect((await today(dev)).messagesPerDay).toBe(10);

    const publish = (n: number) => dev.server.publish({ room: "public:q", event: "e", data: n });
    // Markers from another app: the meter flushes one batch at a time and the rollup checks
    // the quota before the next batch, so once a marker published after a count is rolled
    // up, any notice that count would raise has been written.
    const markers = await p.developer();
    let markersSent = 0;
    const rolledUpAfter = async () => {
      markersSent++;
      await markers.server.publish({ room: "public:marker", event: "e", data: markersSent });
      await until(async () => (await today(markers)).published === markersSent, "the marker to be rolled up");
    };
    for (let n = 1; n <= 7; n++) await publish(n);
    await until(async () => (await today(dev)).published === 7, "7 published");
    await rolledUpAfter();
    expect(await dev.trpc.usage.notices.query({ appId: dev.appId })).toEqual([]);

    await publish(8); // 80%
    await until(
      async () => (await dev.trpc.usage.notices.query({ appId: dev.appId })).length > 0,
      "the 80% notice",
    );
    await publish(9);
    await until(async () => (await today(dev)).published === 9, "9 published");
    await rolledUpAfter();
    const notices = await dev.trpc.usage.notices.query({ appId: dev.appId });
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      kind: "daily_quota_80",
      day: new Date().toISOString().slice(0, 10),
    });
    expect(notices[0]!.message).toContain("of 10 messages");
    expect(await today(dev)).toMatchObject({ published: 9, messagesPerDay: 10, percent: 90 });

    const rows = await db.query!(`select count(*)::int as n from app_notices where app_id = $1`, [dev.appId]);
    expect(rows.rows[0].n).toBe(1);
    const metrics = await (await fetch(p.urls.metrics as string)).text();
    expect(metrics).toContain(`relaybase_quota_warnings_total{app="${dev.appId}"} 1`);
  });
});
