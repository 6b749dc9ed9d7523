import type { DebugEvent } from "@relaybase/protocol";
import type { RelaybaseClient } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../fixtures.js";
import { type Developer, startTestCluster, type TestCluster } from "./fixtures.js";

/**
 * The console's live tail in a cluster (docs/console.md#the-debug-console): the tail is
 * held by node A; node B and the REST instance learn that the app is watched from the
 * watcher registry in Redis and send their events over the adapter stream, as publishes go.
 */
describe("the debug tail across a cluster", () => {
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

  it("shows a REST publish and a client connecting to the other node; the inspector sees both nodes", async () => {
    const tailClient = c.client({
      key: dev.publishableKey,
      url: nodeA,
      getToken: async () => (await dev.trpc.apps.debugToken.mutate({ appId: dev.appId })).token,
    });
    const events: DebugEvent[] = [];
    const tail = tailClient.debugTail();
    tail.on((e) => events.push(e));
    await tail.start();

    // The REST instance learns of the watcher within its poll: publish until the tail shows one.
    let n = 0;
    await poll("a REST publish in the tail", async () => {
      await dev.server.publish({ room: "news", event: "headline", data: { n: ++n } });
      return events.some((e) => e.kind === "publish" && e.source === "rest");
    }).toBe(true);
    const rest = events.find((e) => e.kind === "publish" && e.source === "rest")!;
    expect(rest).toMatchObject({ room: "news", event: "headline", node: expect.stringMatching(/^rest:/) });
    expect(rest.offset).toBeGreaterThan(0);

    // A client on node B, and one on node A to tell the nodes apart.
    const onB: RelaybaseClient[] = [];
    await poll("a connection to node B in the tail", async () => {
      const client = c.client({ key: dev.publishableKey, url: nodeB });
      await client.room("public:lobby").subscribe();
      onB.push(client);
      return onB.some((b) => events.some((e) => e.kind === "connect" && e.connectionId === b.connectionId));
    }).toBe(true);
    const a = c.client({ key: dev.publishableKey, url: nodeA });
    await a.room("public:lobby").subscribe();
    await poll("the connection to node A", () =>
      events.some((e) => e.kind === "connect" && e.connectionId === a.connectionId),
    ).toBe(true);

    const seenB = onB.find((b) =>
      events.some((e) => e.kind === "connect" && e.connectionId === b.connectionId),
    )!;
    const connectB = events.find((e) => e.kind === "connect" && e.connectionId === seenB.connectionId)!;
    const connectA = events.find((e) => e.kind === "connect" && e.connectionId === a.connectionId)!;
    expect(connectB.node).not.toBe(connectA.node);
    expect(events).toContainEqual(
      expect.objectContaining({
        kind: "subscribe",
        connectionId: seenB.connectionId,
        room: "public:lobby",
        node: connectB.node,
      }),
    );
    // The room inspector (control plane, reading the nodes' counts and histories in Redis).
    await poll("the inspector to count both nodes' subscribers", async () => {
      const room = await dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "public:lobby" });
      return room.subscribers;
    }).toBe(onB.length + 1);
    const news = await dev.trpc.rooms.inspect.query({ appId: dev.appId, room: "news" });
    expect(news.offset).toBe(n);
    expect(news.messages[0]).toMatchObject({ offset: n, event: "headline", preview: `{"n":${n}}` });
    // Key use, recorded by the nodes and the REST instance in Redis, read by the control plane.
    await poll("both keys' last use", async () =>
      (await dev.trpc.keys.list.query({ appId: dev.appId })).every((k) => k.lastUsedAt !== null),
    ).toBe(true);
    // Node B's disconnects travel the same way.
    const id = seenB.connectionId;
    seenB.close();
    await poll("node B's disconnect", () =>
      events.some((e) => e.kind === "disconnect" && e.connectionId === id && e.node === connectB.node),
    ).toBe(true);
  }, 60_000);
});
