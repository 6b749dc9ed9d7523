import { MemoryRoomOccupancy, type RoomOccupancy, randomId } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisRoomOccupancy } from "./room-occupancy.js";
import { SHARED_REDIS_URL } from "./testing/redis-server.js";

let redis: RedisClient;
const prefix = `rbtest:${randomId(8)}:`;
beforeAll(async () => {
  redis = createRedisClient(SHARED_REDIS_URL);
  await redis.connect();
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(keys);
  await redis.quit();
});

const node = (options: ConstructorParameters<typeof RedisRoomOccupancy>[1] = {}) =>
  new RedisRoomOccupancy(redis, { prefix, leaseMs: 10_000, ...options });
const reader = () => new RedisRoomOccupancy(redis, { prefix, readOnly: true });

/** Every page of an app's rooms, following the cursors. */
async function allRooms(
  store: RoomOccupancy,
  appId: string,
  options: { prefix?: string; limit?: number } = {},
) {
  const out: Array<[string, number]> = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(appId, { ...options, cursor });
    out.push(...page.rooms.map((r) => [r.room, r.subscribers] as [string, number]));
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

describe.each([
  ["memory", () => ({ writer: new MemoryRoomOccupancy(), read: (w: RoomOccupancy) => w })],
  ["redis", () => ({ writer: node(), read: (_w: RoomOccupancy) => reader() })],
])("room occupancy (%s)", (_name, make) => {
  it("lists an app's occupied rooms in name order, paged, by prefix, and nothing of other apps", async () => {
    const { writer, read } = make();
    const appId = `app_${randomId(8)}`;
    const other = `app_${randomId(8)}`;
    for (const room of ["chat:b", "chat:a", "doc:1", "chat:c", "chat:a"]) writer.joined(appId, room);
    writer.joined(other, "chat:z");
    writer.joined(appId, "gone");
    writer.left(appId, "gone");
    await (writer as RedisRoomOccupancy).flush?.();
    const r = read(writer);
    expect(await allRooms(r, appId, { limit: 2 })).toEqual([
      ["chat:a", 2],
      ["chat:b", 1],
      ["chat:c", 1],
      ["doc:1", 1],
    ]);
    const first = await r.list(appId, { prefix: "chat:", limit: 2 });
    expect(first.rooms.map((x) => x.room)).toEqual(["chat:a", "chat:b"]);
    expect(first.nextCursor).toBeDefined();
    expect((await r.list(appId, { prefix: "chat:", cursor: first.nextCursor })).rooms).toEqual([
      { room: "chat:c", subscribers: 1 },
    ]);
    expect(await allRooms(r, appId, { prefix: "doc" })).toEqual([["doc:1", 1]]);
    expect(await allRooms(r, other)).toEqual([["chat:z", 1]]);
    expect(await r.subscribers(appId, "chat:a")).toBe(2);
    expect(await r.subscribers(appId, "gone")).toBe(0);
    expect(await r.subscribers(other, "chat:a")).toBe(0);
    await writer.close();
  });

  it("refuses a bad prefix, limit or cursor with the documented codes", async () => {
    const { writer, read } = make();
    const r = read(writer);
    await expect(r.list("app_x", { prefix: "no spaces" })).rejects.toMatchObject({
      code: "INVALID_ROOM_NAME",
    });
    await expect(r.list("app_x", { limit: 0 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(r.list("app_x", { cursor: "%%%" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    // A cursor of another prefix's listing.
    const cursor = Buffer.from("doc:1").toString("base64url");
    await expect(r.list("app_x", { prefix: "chat:", cursor })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await writer.close();
  });
});

describe("RedisRoomOccupancy", () => {
  it("adds up every live node's subscribers per room", async () => {
    const appId = `app_${randomId(8)}`;
    const a = node();
    const b = node();
    a.joined(appId, "room");
    a.joined(appId, "room");
    b.joined(appId, "room");
    b.joined(appId, "only-b");
    await Promise.all([a.flush(), b.flush()]);
    expect(await allRooms(reader(), appId)).toEqual([
      ["only-b", 1],
      ["room", 3],
    ]);
    // A graceful stop withdraws the node's counts at once.
    await b.close();
    expect(await allRooms(reader(), appId)).toEqual([["room", 2]]);
    await a.close();
    expect(await allRooms(reader(), appId)).toEqual([]);
  });

  it("writes changes by itself after flushDelayMs, many changes in one write", async () => {
    const appId = `app_${randomId(8)}`;
    const a = node({ flushDelayMs: 20 });
    for (let i = 0; i < 300; i++) a.joined(appId, `r${i % 30}`);
    await expect.poll(() => reader().subscribers(appId, "r7")).toBe(10);
    expect((await allRooms(reader(), appId)).length).toBe(30);
    await a.close();
  });

  it("stops counting a node that died without a word once its lease expires", async () => {
    const appId = `app_${randomId(8)}`;
    const survivor = node();
    const doomed = node({ leaseMs: 1_500, refreshMs: 60_000 });
    survivor.joined(appId, "room");
    doomed.joined(appId, "room");
    doomed.joined(appId, "doomed-only");
    await Promise.all([survivor.flush(), doomed.flush()]);
    expect(await reader().subscribers(appId, "room")).toBe(2);
    // "kill -9": no close(), no more renewals.
    await expect
      .poll(() => allRooms(reader(), appId), { message: "the lease to expire", timeout: 5_000 })
      .toEqual([["room", 1]]);
    // Nothing of it is left behind: its keys expired with the lease.
    await expect
      .poll(() => redis.keys(`${prefix}{rb:rooms}:*${doomed.nodeId}*`), { timeout: 5_000 })
      .toEqual([]);
    await survivor.close();
  });

  it("writes all its counts again when Redis lost them", async () => {
    const appId = `app_${randomId(8)}`;
    const a = node();
    a.joined(appId, "x");
    a.joined(appId, "y");
    await a.flush();
    const keys = await redis.keys(`${prefix}{rb:rooms}:*${a.nodeId}*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(keys);
    expect(await allRooms(reader(), appId)).toEqual([]);
    await a.refresh();
    expect(await allRooms(reader(), appId)).toEqual([
      ["x", 1],
      ["y", 1],
    ]);
    await a.close();
  });
});
