/**
 * Publish limits on the real embedded platform (`startPlatform`, with Postgres so the
 * test can write operator overrides): per-connection client publish rate, the daily
 * quota shared by client and REST publishes, and message size on both paths. Each
 * refusal carries its code, and a refused message is neither stored nor delivered.
 */
import type { MessageEnvelope } from "@relaybase/protocol";
import { secondsUntilUtcMidnight } from "@relaybase/server-kit";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { ack, handshake, rawSocket, sleep, until } from "../fixtures.js";
import { createTestDatabase, restPublish, setLimits, type TestDatabase } from "./fixtures.js";

let db: TestDatabase;
let p: TestPlatform;
const sockets: Socket[] = [];
beforeAll(async () => {
  db = await createTestDatabase("postgres");
  p = await startTestPlatform({ DATABASE_URL: db.env.DATABASE_URL! });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await p?.close();
  await db?.drop();
});

async function connect(key: string): Promise<Socket> {
  const socket = rawSocket(p.urls.realtime, key);
  sockets.push(socket);
  expect(await handshake(socket)).toBe("connected");
  return socket;
}

/** A connection subscribed to `room`, recording what it receives. */
async function subscriber(key: string, room: string) {
  const socket = await connect(key);
  const received: MessageEnvelope[] = [];
  socket.on("message", (m: MessageEnvelope) => received.push(m));
  expect(await ack(socket, "subscribe", { room })).toMatchObject({ ok: true, offset: 0 });
  return { socket, received };
}

/**
 * Resolves once `offset` has arrived at the subscriber. A room's messages arrive in
 * order, so a later message (a marker) being in means nothing before it is still coming.
 */
function arrived(watcher: { received: MessageEnvelope[] }, offset: number) {
  return until(() => watcher.received.some((m) => m.offset === offset), `offset ${offset} to arrive`);
}

describe("client publish rate per connection", () => {
  it("acks the surplus of a burst with RATE_LIMITED and a retryAfter, and stores only what it accepted", async () => {
    const dev = await p.developer();
    await setLimits(db, dev, { clientPublishesPerSecond: 5 });
    const watcher = await subscriber(dev.publishableKey, "burst");
    const socket = await connect(dev.publishableKey);
    const acks = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        ack(socket, "publish", { room: "burst", event: "n", data: i, id: `b${i}` }),
      ),
    );
    expect(acks.filter((a) => a.ok)).toHaveLength(5);
    const refused = acks.filter((a) => !a.ok);
    expect(refused).toHaveLength(3);
    for (const a of refused) {
      expect(a.error).toMatchObject({ code: "RATE_LIMITED", retry: "backoff", retryAfter: 1 });
    }
    // Another connection of the same app has its own budget.
    const other = await connect(dev.publishableKey);
    expect(await ack(other, "publish", { room: "burst", event: "n", data: "x", id: "o1" })).toMatchObject({
      ok: true,
      offset: 6,
    });
    // Its message is the marker: only what was accepted was delivered.
    await arrived(watcher, 6);
    expect(watcher.received.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5, 6]);
    // The budget comes back after a second.
    await sleep(1_100);
    expect(await ack(socket, "publish", { room: "burst", event: "n", data: 9, id: "b9" })).toMatchObject({
      ok: true,
      offset: 7,
    });
  });
});

describe("daily message quota", () => {
  it("counts client and REST publishes together (a REST publish to N rooms is N) and refuses past it on both paths", async () => {
    const dev = await p.developer();
    await setLimits(db, dev, { messagesPerDay: 5 });
    const watcher = await subscriber(dev.publishableKey, "q1");
    const socket = await connect(dev.publishableKey);

    expect((await restPublish(p.urls.rest, dev, { room: "q1", event: "n", data: 1 })).status).toBe(202);
    expect((await restPublish(p.urls.rest, dev, { rooms: ["q1", "q2"], event: "n", data: 2 })).status).toBe(
      202,
    );
    expect(await ack(socket, "publish", { room: "q1", event: "n", data: 3, id: "c3" })).toMatchObject({
      ok: true,
    });
    // 4 used: a publish to 2 rooms would make 6, so it is refused whole.
    const overByRooms = await restPublish(p.urls.rest, dev, { rooms: ["q1", "q2"], event: "n", data: 4 });
    expect(overByRooms.status).toBe(429);
    expect(overByRooms.error).toMatchObject({ code: "DAILY_QUOTA_EXCEEDED", retry: "backoff" });
    // The last one fits.
    expect((await restPublish(p.urls.rest, dev, { room: "q1", event: "n", data: 5 })).status).toBe(202);

    const rest = await restPublish(p.urls.rest, dev, { room: "q1", event: "n", data: 6 });
    expect(rest.status).toBe(429);
    expect(rest.error).toMatchObject({ code: "DAILY_QUOTA_EXCEEDED", retry: "backoff" });
    // Retry-After: the seconds until midnight UTC.
    expect(Math.abs(rest.retryAfter! - secondsUntilUtcMidnight(Date.now()))).toBeLessThanOrEqual(2);
    expect(rest.error?.retryAfter).toBe(rest.retryAfter);

    const batch = await restPublish(
      p.urls.rest,
      dev,
      { messages: [{ room: "q1", event: "n", data: 7 }] },
      "batch",
    );
    expect(batch).toMatchObject({ status: 429, error: { code: "DAILY_QUOTA_EXCEEDED" } });
    expect(batch.retryAfter).toBeGreaterThan(0);

    const client = await ack(socket, "publish", { room: "q1", event: "n", data: 8, id: "c8" });
    expect(client).toMatchObject({ ok: false, error: { code: "DAILY_QUOTA_EXCEEDED", retry: "backoff" } });
    expect(client.error?.retryAfter).toBeGreaterThan(0);

    expect(await ack(socket, "subscribe", { room: "q2" })).toMatchObject({ ok: true, offset: 1 });

    // Only the accepted messages were stored and delivered, with no holes in the offsets.
    // The marker: with one more message allowed (a new override, read on the next
    // lookup), a last publish; once it is in, nothing refused before it is still coming.
    await setLimits(db, dev, { messagesPerDay: 6 });
    await until(
      async () =>
        (await restPublish(p.urls.rest, dev, { room: "q1", event: "n", data: "marker" })).status === 202,
      "the raised quota to let the marker through",
    );
    await arrived(watcher, 5);
    expect(watcher.received.map((m) => [m.offset, m.data])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 5],
      [5, "marker"],
    ]);
  });
});

describe("message size", () => {
  it("refuses a message over the app's limit on both paths before storing, delivering or counting it", async () => {
    const dev = await p.developer();
    await setLimits(db, dev, { maxMessageBytes: 1024, messagesPerDay: 1 });
    const watcher = await subscriber(dev.publishableKey, "big");
    const socket = await connect(dev.publishableKey);
    const big = { text: "x".repeat(2_000) };

    const client = await ack(socket, "publish", { room: "big", event: "e", data: big, id: "big1" });
    expect(client).toMatchObject({ ok: false, error: { code: "MESSAGE_TOO_LARGE", retry: "never" } });
    expect(client.error?.message).toContain("1024");
    const rest = await restPublish(p.urls.rest, dev, { room: "big", event: "e", data: big });
    expect(rest).toMatchObject({ status: 413, error: { code: "MESSAGE_TOO_LARGE" } });
    const batch = await restPublish(
      p.urls.rest,
      dev,
      {
        messages: [
          { room: "big", event: "e", data: 1 },
          { room: "big", event: "e", data: big },
        ],
      },
      "batch",
    );
    expect(batch).toMatchObject({ status: 413, error: { code: "MESSAGE_TOO_LARGE" } });

    // Nothing stored, delivered or counted: the day's only message still goes through at offset 1.
    const small = await ack(socket, "publish", {
      room: "big",
      event: "e",
      data: { text: "ok" },
      id: "small",
    });
    expect(small).toMatchObject({ ok: true, offset: 1 });
    // The small one is the marker: nothing refused before it was delivered.
    await arrived(watcher, 1);
    expect(watcher.received.map((m) => m.data)).toEqual([{ text: "ok" }]);
  });
});
