/**
 * Room list and room info on the embedded platform (`npm start`): what they answer agrees
 * with what clients did and saw (issue 10, item 5), through the SDK server helper.
 */
import type { RelaybaseClient } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(() => p?.close());

describe("rooms over REST, embedded", () => {
  it("the room list, room info and history agree with what clients did and saw", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    const caps = { "doc:*": ["subscribe", "publish", "presence"] } as const;
    const client = async (userId: string) => {
      const { token } = await dev.server.createToken({ userId, capabilities: caps as never });
      return p.client({ key: dev.publishableKey, getToken: async () => token });
    };
    const seen: number[] = [];
    const clients: RelaybaseClient<Record<string, unknown>>[] = [];
    for (let i = 0; i < 3; i++) clients.push(await client(`u${i}`));
    const [a, b, c] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    a.room("doc:1").on("*", (_d, meta) => seen.push(meta.offset));
    await a.room("doc:1").subscribe();
    await b.room("doc:1").subscribe();
    await b.room("doc:2").subscribe();
    await c.room("doc:3").subscribe();
    // Entering without subscribing: a member, not a subscriber.
    await c.room("doc:1").presence.enter({ name: "C" });
    await b.room("doc:1").presence.enter({ name: "B" });
    // The same room name in another app is another room.
    await p.client({ key: other.publishableKey }).room("public:theirs").subscribe();
    for (let i = 0; i < 3; i++) await a.room("doc:1").publish("note", { i });
    await poll("a to see its three messages", () => seen.length).toBe(3);

    expect(await dev.server.rooms()).toEqual({
      rooms: [
        { room: "doc:1", subscribers: 2, members: 2 },
        { room: "doc:2", subscribers: 1, members: 0 },
        { room: "doc:3", subscribers: 1, members: 0 },
      ],
    });
    const info = await dev.server.room("doc:1");
    expect(info).toEqual({ room: "doc:1", subscribers: 2, members: 2, ...a.room("doc:1").position });
    expect(info.offset).toBe(Math.max(...seen));
    const history = await dev.server.history("doc:1");
    expect(history.messages.map((m) => m.offset)).toEqual(seen);
    expect(history.epoch).toBe(info.epoch);

    // Paged by prefix with the cursor.
    const first = await dev.server.rooms({ prefix: "doc:", limit: 2 });
    expect(first.rooms.map((r) => r.room)).toEqual(["doc:1", "doc:2"]);
    expect(await dev.server.rooms({ prefix: "doc:", limit: 2, cursor: first.nextCursor! })).toEqual({
      rooms: [{ room: "doc:3", subscribers: 1, members: 0 }],
    });
    // Another app's key lists only its own app; this app is not reachable with it.
    expect(await other.server.rooms()).toEqual({
      rooms: [{ room: "public:theirs", subscribers: 1, members: 0 }],
    });
    expect(await other.server.room("doc:1")).toMatchObject({ subscribers: 0, members: 0, offset: 0 });
    const res = await fetch(`${p.urls.rest}/v1/apps/${dev.appId}/rooms`, {
      headers: { authorization: `Bearer ${other.secret}` },
    });
    expect(res.status).toBe(403);
    await expect(dev.server.rooms({ prefix: "bad prefix" })).rejects.toMatchObject({
      code: "INVALID_ROOM_NAME",
    });

    // Leaving shows at once: unsubscribe, then a closed client.
    await b.room("doc:2").unsubscribe();
    c.close();
    await poll("the rooms after b and c left", async () => (await dev.server.rooms()).rooms).toEqual([
      { room: "doc:1", subscribers: 2, members: 1 },
    ]);
    a.close();
    b.close();
    await poll("no room left", async () => (await dev.server.rooms()).rooms).toEqual([]);
    expect(await dev.server.room("doc:1")).toEqual({ ...info, subscribers: 0, members: 0 });
  });
});
