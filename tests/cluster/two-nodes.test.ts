import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll, until } from "../fixtures.js";
import { type Developer, startTestCluster, type TestCluster } from "./fixtures.js";

/**
 * Two realtime nodes and one REST instance as separate processes sharing Redis. One
 * client connects straight to node A and one straight to node B (not through the
 * balancer), so every message that reaches both crossed from one node to the other.
 */
describe("a cluster of two realtime nodes", () => {
  let c: TestCluster;
  let dev: Developer;
  let nodeA: string;
  let nodeB: string;

  beforeAll(async () => {
    c = await startTestCluster({ nodes: 2, restInstances: 1 });
    dev = await c.developer();
    [nodeA, nodeB] = c.cluster.nodes.map((n) => n.url) as [string, string];
  }, 90_000);
  afterAll(() => c?.close(), 30_000);

  it("delivers a REST publish to subscribers on both nodes", async () => {
    const a = c.client({ key: dev.publishableKey, url: nodeA });
    const b = c.client({ key: dev.publishableKey, url: nodeB });
    const got = { a: [] as unknown[], b: [] as unknown[] };
    a.room("public:news").on("headline", (data) => got.a.push(data));
    b.room("public:news").on("headline", (data) => got.b.push(data));
    await Promise.all([a.room("public:news").subscribe(), b.room("public:news").subscribe()]);

    const result = await dev.server.publish({
      room: "public:news",
      event: "headline",
      data: { text: "hello" },
    });
    await until(() => got.a.length === 1 && got.b.length === 1, "both nodes' subscribers to get the message");

    expect(got.a).toEqual([{ text: "hello" }]);
    expect(got.b).toEqual([{ text: "hello" }]);
    expect(result.offsets["public:news"]).toMatchObject({ offset: 1 });
  });

  it("delivers a client's publish on node A to a subscriber on node B, with the publisher's identity", async () => {
    const token = (userId: string) => async () =>
      (await dev.server.createToken({ userId, capabilities: { "chat:*": ["subscribe", "publish"] } })).token;
    const alice = c.client({ key: dev.publishableKey, url: nodeA, getToken: token("alice") });
    const bob = c.client({ key: dev.publishableKey, url: nodeB, getToken: token("bob") });
    const bobGot: { data: unknown; offset: number; userId?: string }[] = [];
    bob.room("chat:lobby").on("chat", (data, meta) =>
      bobGot.push({
        data,
        offset: meta.offset,
        ...(meta.from?.userId ? { userId: meta.from.userId } : {}),
      }),
    );
    await Promise.all([alice.room("chat:lobby").subscribe(), bob.room("chat:lobby").subscribe()]);

    const first = await alice.room("chat:lobby").publish("chat", { text: "hi from A" });
    const second = await alice.room("chat:lobby").publish("chat", { text: "still A" });
    await poll("bob on node B to get alice's two messages", () => bobGot.length).toBe(2);

    expect(bobGot).toEqual([
      { data: { text: "hi from A" }, offset: first.offset, userId: "alice" },
      { data: { text: "still A" }, offset: second.offset, userId: "alice" },
    ]);
    expect(second.offset).toBe(first.offset + 1);

    // And back: B publishes, A's subscriber (the first publisher) receives it.
    const aliceGot: unknown[] = [];
    alice.room("chat:lobby").on("chat", (data) => aliceGot.push(data));
    await bob.room("chat:lobby").publish("chat", { text: "hi from B" });
    await poll("alice on node A to get bob's message", () => aliceGot.length).toBe(1);
    expect(aliceGot).toEqual([{ text: "hi from B" }]);
  });
});
