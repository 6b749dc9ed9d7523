/**
 * `room.history()` and `client.on("user.message")` against a real realtime node
 * (in-process, port 0, real token signatures).
 */
import type { UserMessage } from "@relaybase/protocol";
import { type NodeFixture, startNode } from "@relaybase/realtime-node/testing";
import type { AppRuntime } from "@relaybase/server-kit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, type RelaybaseClient } from "./index.js";

let f: NodeFixture;
const clients: RelaybaseClient<object>[] = [];
beforeAll(async () => {
  f = await startNode();
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(() => f.close());

async function connect(app: AppRuntime, sub: string, caps: Record<string, string[]>) {
  const token = await f.token(app.appId, caps as never, { sub });
  const client = createClient<{ note: { n: number } }>({
    key: app.publishableKeys[0]!,
    url: f.url,
    transports: ["websocket"],
    getToken: async () => token,
  });
  clients.push(client as RelaybaseClient<object>);
  await expect.poll(() => client.state).toBe("connected");
  return client;
}

describe("room.history()", () => {
  it("reads the room's messages by offset in both directions, with the history capability only", async () => {
    const app = await f.addApp();
    for (let n = 1; n <= 5; n++)
      await f.node.publisher.publish({ app, room: "doc:1", event: "note", data: { n } });
    const reader = await connect(app, "reader", { "doc:*": ["history"] });
    const room = reader.room("doc:1");
    const all = await room.history();
    expect(all.offset).toBe(5);
    expect(all.messages.map((m) => [m.offset, m.data])).toEqual([1, 2, 3, 4, 5].map((n) => [n, { n }]));
    expect(all.messages[0]).toMatchObject({ room: "doc:1", event: "note", epoch: all.epoch });
    const newest = await room.history({ direction: "backward", limit: 2 });
    expect(newest.messages.map((m) => m.offset)).toEqual([5, 4]);
    const before = await room.history({ direction: "backward", since: 4, limit: 2 });
    expect(before.messages.map((m) => m.offset)).toEqual([3, 2]);
    expect((await room.history({ since: 3 })).messages.map((m) => m.offset)).toEqual([4, 5]);
    // Not subscribed: nothing reached a handler, and the room stays unsubscribed.
    expect(room.state).toBe("unsubscribed");

    await expect(room.history({ limit: 0 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const subscriber = await connect(app, "sub", { "doc:*": ["subscribe"] });
    await expect(subscriber.room("doc:1").history()).rejects.toMatchObject({ code: "CAPABILITY_DENIED" });
    // Another app's room of the same name is another room.
    const other = await f.addApp();
    const stranger = await connect(other, "reader", { "doc:*": ["history"] });
    expect((await stranger.room("doc:1").history()).messages).toEqual([]);
  });
});

describe('client.on("user.message")', () => {
  it("delivers a message sent to this connection's user, to each of its connections and nobody else", async () => {
    const app = await f.addApp();
    const phone = await connect(app, "alice", {});
    const laptop = await connect(app, "alice", {});
    const bob = await connect(app, "bob", {});
    const got = new Map<RelaybaseClient<object>, UserMessage[]>();
    for (const c of [phone, laptop, bob]) {
      const list: UserMessage[] = [];
      got.set(c as RelaybaseClient<object>, list);
      c.on("user.message", (m) => list.push(m));
    }
    const { id } = await f.node.publisher.publishToUser({
      app,
      userId: "alice",
      event: "dm",
      data: { hi: 1 },
    });
    await f.node.publisher.publishToUser({ app, userId: "bob", event: "marker", data: 0 });
    await expect.poll(() => got.get(bob as RelaybaseClient<object>)!.length).toBe(1);
    await expect
      .poll(() => [phone, laptop].map((c) => got.get(c as RelaybaseClient<object>)!.length))
      .toEqual([1, 1]);
    expect(got.get(phone as RelaybaseClient<object>)).toEqual([
      { user: "alice", event: "dm", data: { hi: 1 }, id, ts: expect.any(Number) },
    ]);
    expect(got.get(bob as RelaybaseClient<object>)!.map((m) => m.event)).toEqual(["marker"]);
  });
});
