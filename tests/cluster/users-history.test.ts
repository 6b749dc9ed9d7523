import type { HistoryAck, HistoryPage, MessageEnvelope, PublishAck, UserMessage } from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ack, handshake, poll, rawSocket, type SignedUpDeveloper } from "../fixtures.js";
import { startTestCluster, type TestCluster } from "./fixtures.js";

/**
 * Two realtime nodes and one REST instance as separate processes sharing Redis: a
 * message to one user reaches that user's devices on both nodes and nobody else, and the
 * REST instance's history (read from Redis) is what subscribers on both nodes received.
 */
describe("users and history in a cluster of two nodes", () => {
  let c: TestCluster;
  let nodeA: string;
  let nodeB: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    c = await startTestCluster({ nodes: 2, restInstances: 1 });
    [nodeA, nodeB] = c.cluster.nodes.map((n) => n.url) as [string, string];
  }, 90_000);
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await c?.close();
  }, 30_000);

  async function connect(
    dev: SignedUpDeveloper,
    url: string,
    userId: string,
    caps: Record<string, string[]>,
  ) {
    const { token } = await dev.server.createToken({
      userId,
      capabilities: caps as Parameters<typeof dev.server.createToken>[0]["capabilities"],
    });
    const socket = rawSocket(url, dev.publishableKey, token);
    sockets.push(socket);
    const got: UserMessage[] = [];
    const messages: MessageEnvelope[] = [];
    socket.on("user.message", (m: UserMessage) => got.push(m));
    socket.on("message", (m: MessageEnvelope) => messages.push(m));
    expect(await handshake(socket)).toBe("connected");
    return { socket, got, messages };
  }

  const sendToUser = (dev: SignedUpDeveloper, userId: string, body: unknown) =>
    fetch(`${c.urls.rest}/v1/apps/${dev.appId}/users/${encodeURIComponent(userId)}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("a REST publish to a user reaches their two devices on two nodes, and nobody else", async () => {
    const dev = await c.developer();
    const other = await c.developer();
    const phone = await connect(dev, nodeA, "alice", {});
    const laptop = await connect(dev, nodeB, "alice", {});
    const bob = await connect(dev, nodeB, "bob", {});
    const otherAlice = await connect(other, nodeA, "alice", {});

    const res = await sendToUser(dev, "alice", { event: "dm", data: { text: "hi" } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await poll("alice's devices on both nodes", () => [phone.got.length, laptop.got.length]).toEqual([1, 1]);
    expect(phone.got).toEqual([
      { user: "alice", event: "dm", data: { text: "hi" }, id, ts: expect.any(Number) },
    ]);
    expect(laptop.got).toEqual(phone.got);

    // Markers, written to the same stream after it: each node reads it in order.
    expect((await sendToUser(dev, "bob", { event: "marker", data: 1 })).status).toBe(202);
    expect((await sendToUser(other, "alice", { event: "marker", data: 2 })).status).toBe(202);
    await poll("the markers", () => [bob.got.length, otherAlice.got.length]).toEqual([1, 1]);
    expect(bob.got.map((m) => m.event)).toEqual(["marker"]);
    expect(otherAlice.got.map((m) => m.data)).toEqual([2]);
  });

  it("disconnect ends the user's devices on both nodes with the documented code", async () => {
    const dev = await c.developer();
    const track = async (url: string, userId: string) => {
      const d = await connect(dev, url, userId, {});
      const events: unknown[] = [];
      d.socket.on("notice", (n: { code: string }) => events.push(n.code));
      d.socket.on("disconnect", (reason: string) => events.push(reason));
      return { ...d, events };
    };
    const phone = await track(nodeA, "alice");
    const laptop = await track(nodeB, "alice");
    const bob = await track(nodeA, "bob");
    const res = await fetch(`${c.urls.rest}/v1/apps/${dev.appId}/users/alice/disconnect`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.secret}` },
    });
    expect(res.status).toBe(202);
    await poll("alice's devices on both nodes ended", () => [phone.events, laptop.events]).toEqual([
      ["USER_DISCONNECTED", "io server disconnect"],
      ["USER_DISCONNECTED", "io server disconnect"],
    ]);
    expect((await sendToUser(dev, "bob", { event: "marker", data: 1 })).status).toBe(202);
    await poll("bob's marker", () => bob.got.length).toBe(1);
    expect(bob.events).toEqual([]);
  });

  it("REST history (Redis) and socket history agree with what subscribers on both nodes saw", async () => {
    const dev = await c.developer();
    const caps = { "chat:*": ["subscribe", "publish", "history"] };
    const a = await connect(dev, nodeA, "ann", caps);
    const b = await connect(dev, nodeB, "ben", caps);
    for (const s of [a, b]) expect((await ack(s.socket, "subscribe", { room: "chat:1" })).ok).toBe(true);
    await dev.server.publish({ room: "chat:1", event: "rest", data: { n: 1 } });
    const published = await ack<PublishAck>(b.socket, "publish", {
      room: "chat:1",
      event: "client",
      data: 2,
      id: "b1",
    });
    expect(published.ok).toBe(true);
    await dev.server.publish({ room: "chat:1", event: "rest", data: { n: 3 } });
    await poll("three messages on both nodes", () => [a.messages.length, b.messages.length]).toEqual([3, 3]);
    expect(a.messages).toEqual(b.messages);

    const res = await fetch(`${c.urls.rest}/v1/apps/${dev.appId}/rooms/chat:1/history?direction=backward`, {
      headers: { authorization: `Bearer ${dev.secret}` },
    });
    const page = (await res.json()) as HistoryPage;
    expect(page.offset).toBe(3);
    expect(page.messages).toEqual([...a.messages].reverse());
    const overSocket = await ack<HistoryAck>(a.socket, "history", { room: "chat:1", since: 1 });
    expect(overSocket).toEqual({ ok: true, offset: 3, epoch: page.epoch, messages: a.messages.slice(1) });
  });
});
