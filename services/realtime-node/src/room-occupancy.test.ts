/**
 * Room occupancy on a real in-process node (memory store): every way a socket enters or
 * leaves a room is counted once, and only tenant rooms count.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connected, emitAck, type NodeFixture, startNode } from "./test-fixtures.js";

let f: NodeFixture;
beforeAll(async () => {
  f = await startNode();
});
afterAll(() => f.close());

describe("room occupancy on a realtime node", () => {
  it("counts subscribes, unsubscribes, lost capabilities and disconnects per app", async () => {
    const app = await f.addApp();
    const other = await f.addApp();
    const key = app.publishableKeys[0]!;
    const caps = { "chat:*": ["subscribe"], "public:*": ["subscribe"] } as const;
    const token = await f.token(app.appId, caps as never, { sub: "alice" });
    const a = await connected(f.client({ key, token }));
    const b = await connected(f.client({ key }));
    const c = await connected(f.client({ key: other.publishableKeys[0]! }));
    expect(await emitAck(a, "subscribe", { room: "chat:1" })).toMatchObject({ ok: true });
    // Subscribing twice is one subscription.
    expect(await emitAck(a, "subscribe", { room: "chat:1" })).toMatchObject({ ok: true });
    expect(await emitAck(a, "subscribe", { room: "public:lobby" })).toMatchObject({ ok: true });
    expect(await emitAck(b, "subscribe", { room: "public:lobby" })).toMatchObject({ ok: true });
    expect(await emitAck(c, "subscribe", { room: "public:lobby" })).toMatchObject({ ok: true });

    const rooms = async (appId: string) => (await f.node.occupancy.list(appId)).rooms;
    // The connection's own room and the user's room are not rooms of the app.
    expect(await rooms(app.appId)).toEqual([
      { room: "chat:1", subscribers: 1 },
      { room: "public:lobby", subscribers: 2 },
    ]);
    expect(await rooms(other.appId)).toEqual([{ room: "public:lobby", subscribers: 1 }]);

    expect(await emitAck(b, "unsubscribe", { room: "public:lobby" })).toEqual({ ok: true });
    expect(await f.node.occupancy.subscribers(app.appId, "public:lobby")).toBe(1);
    // A refreshed token without chat:* leaves chat:1.
    const narrower = await f.token(app.appId, { "public:*": ["subscribe"] }, { sub: "alice" });
    expect(await emitAck(a, "auth", { token: narrower })).toMatchObject({ ok: true });
    expect(await rooms(app.appId)).toEqual([{ room: "public:lobby", subscribers: 1 }]);
    a.disconnect();
    await expect.poll(() => rooms(app.appId)).toEqual([]);
    expect(await rooms(other.appId)).toEqual([{ room: "public:lobby", subscribers: 1 }]);
  });
});
