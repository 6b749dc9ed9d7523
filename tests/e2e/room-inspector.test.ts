/**
 * The console's room inspector through tRPC on the embedded platform: subscribers now
 * (room occupancy, docs/rooms.md), the room's position and its history by offset, paged;
 * for members of the app's org only.
 */
import { consoleClient, uniqueEmail } from "@relaybase/control-plane/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
}, 60_000);
afterAll(() => p?.close());

describe("the room inspector", () => {
  it("shows a room's subscribers now, its last offset and epoch, and its history newest first by offset", async () => {
    const dev = await p.developer();
    const a = p.client({ key: dev.publishableKey });
    const b = p.client({ key: dev.publishableKey });
    await Promise.all([a.room("public:lobby").subscribe(), b.room("public:lobby").subscribe()]);
    for (let n = 1; n <= 25; n++) {
      await dev.server.publish({ room: "public:lobby", event: "tick", data: { n } });
    }
    const first = await dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "public:lobby" });
    expect(first).toMatchObject({ room: "public:lobby", subscribers: 2, offset: 25, olderBefore: 6 });
    expect(first.epoch).toMatch(/.+/);
    expect(first.messages.map((m) => m.offset)).toEqual(Array.from({ length: 20 }, (_, i) => 25 - i));
    expect(first.messages[0]).toMatchObject({ event: "tick", preview: '{"n":25}', size: 8 });
    const older = await dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "public:lobby", before: 6 });
    expect(older.messages.map((m) => m.offset)).toEqual([5, 4, 3, 2, 1]);
    expect(older.olderBefore).toBeUndefined();

    expect(await dev.trpc.rooms.list.query({ appId: dev.appId })).toEqual({
      rooms: [{ room: "public:lobby", subscribers: 2 }],
    });
    b.close();
    await poll(
      "one subscriber left",
      async () =>
        (await dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "public:lobby" })).subscribers,
    ).toBe(1);
    // An empty room: nobody, nothing published.
    expect(await dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "nothing:here" })).toMatchObject({
      subscribers: 0,
      offset: 0,
      messages: [],
    });
  });

  it("refuses a bad room name, another org's user and nobody", async () => {
    const dev = await p.developer();
    const code = (promise: Promise<unknown>) =>
      promise.then(
        () => "resolved",
        (err: { data?: { relaybaseCode?: string } }) => err.data?.relaybaseCode,
      );
    expect(await code(dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "#debug" }))).toBe(
      "BAD_REQUEST",
    );
    const { client: stranger } = consoleClient(p.urls.controlPlane);
    await stranger.auth.signup.mutate({ email: uniqueEmail("stranger"), password: "correct horse battery" });
    expect(await code(stranger.rooms.inspect.query({ appId: dev.appId, room: "public:lobby" }))).toBe(
      "NOT_FOUND",
    );
    expect(await code(stranger.rooms.list.query({ appId: dev.appId }))).toBe("NOT_FOUND");
    const { client: nobody } = consoleClient(p.urls.controlPlane);
    expect(await code(nobody.rooms.list.query({ appId: dev.appId }))).toBe("UNAUTHENTICATED");
  });
});
