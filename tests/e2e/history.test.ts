import type { HistoryAck, HistoryPage, MessageEnvelope, PublishAck } from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ack, handshake, poll, rawSocket, type SignedUpDeveloper } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

/**
 * History on the embedded platform (`npm start`): what a subscriber received is what the
 * REST history route and the socket `history` request answer, per app; a connection
 * without the `history` capability is refused.
 */
let p: TestPlatform;
const sockets: Socket[] = [];
beforeAll(async () => {
  p = await startTestPlatform();
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await p?.close();
}, 30_000);

async function connect(dev: SignedUpDeveloper, userId: string, caps: Record<string, string[]>) {
  const { token } = await dev.server.createToken({
    userId,
    capabilities: caps as Parameters<typeof dev.server.createToken>[0]["capabilities"],
  });
  const socket = rawSocket(p.urls.realtime, dev.publishableKey, token);
  sockets.push(socket);
  expect(await handshake(socket)).toBe("connected");
  return socket;
}

async function restHistory(dev: SignedUpDeveloper, room: string, query = "") {
  const res = await fetch(`${p.urls.rest}/v1/apps/${dev.appId}/rooms/${room}/history${query}`, {
    headers: { authorization: `Bearer ${dev.secret}` },
  });
  return { status: res.status, body: (await res.json()) as HistoryPage & { error?: { code: string } } };
}

describe("history on the embedded platform", () => {
  it("REST and socket history agree with what a subscriber received, per app", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    const alice = await connect(dev, "alice", { "chat:*": ["subscribe", "publish", "history"] });
    const seen: MessageEnvelope[] = [];
    alice.on("message", (m: MessageEnvelope) => seen.push(m));
    const sub = await ack<{ ok: boolean; epoch: string }>(alice, "subscribe", { room: "chat:lobby" });
    expect(sub.ok).toBe(true);

    for (let i = 1; i <= 3; i++) {
      await dev.server.publish({ room: "chat:lobby", event: "rest", data: { i } });
      const published = await ack<PublishAck>(alice, "publish", {
        room: "chat:lobby",
        event: "client",
        data: { i, text: "héllo" },
        id: `c${i}`,
      });
      expect(published.ok).toBe(true);
    }
    await poll("alice's six messages", () => seen.length).toBe(6);
    expect(seen.map((m) => m.offset)).toEqual([1, 2, 3, 4, 5, 6]);

    // Forward by default, from the oldest kept.
    const all = await restHistory(dev, "chat:lobby");
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ offset: 6, epoch: sub.epoch, messages: seen });
    // Pages both ways, `since` exclusive.
    const page = await restHistory(dev, "chat:lobby", "?since=2&limit=2");
    expect(page.body.messages).toEqual(seen.slice(2, 4));
    const newest = await restHistory(dev, "chat:lobby", "?direction=backward&limit=2");
    expect(newest.body.messages).toEqual([seen[5], seen[4]]);
    const older = await restHistory(dev, "chat:lobby", "?direction=backward&since=5&limit=10");
    expect(older.body.messages.map((m) => m.offset)).toEqual([4, 3, 2, 1]);
    // The server helper reads the same pages.
    expect(await dev.server.history("chat:lobby", { direction: "backward", since: 5, limit: 10 })).toEqual(
      older.body,
    );

    // The socket request answers the same.
    const overSocket = await ack<HistoryAck>(alice, "history", { room: "chat:lobby" });
    expect(overSocket).toEqual({ ok: true, offset: 6, epoch: sub.epoch, messages: seen });
    const socketPage = await ack<HistoryAck>(alice, "history", {
      room: "chat:lobby",
      since: 6,
      limit: 3,
      direction: "backward",
    });
    expect(socketPage).toMatchObject({ ok: true, messages: [seen[4], seen[3], seen[2]] });

    // Another app's room of the same name is another room.
    const elsewhere = await restHistory(other, "chat:lobby");
    expect(elsewhere.body).toMatchObject({ offset: 0, messages: [] });
    expect(elsewhere.body.epoch).not.toBe(sub.epoch);

    // Validation: documented bounds.
    expect((await restHistory(dev, "chat:lobby", "?limit=0")).body.error?.code).toBe("BAD_REQUEST");
    expect((await restHistory(dev, "chat:lobby", "?limit=1001")).status).toBe(400);
    expect((await restHistory(dev, "chat:lobby", "?direction=sideways")).status).toBe(400);
    expect((await restHistory(dev, "chat:lobby", "?since=-1")).status).toBe(400);
    expect((await restHistory(dev, "no%20spaces")).body.error?.code).toBe("INVALID_ROOM_NAME");
    const malformed = await ack<HistoryAck>(alice, "history", { room: "chat:lobby", limit: 0 });
    expect(malformed).toMatchObject({ ok: false, error: { code: "BAD_REQUEST" } });
  });

  it("refuses `history` without the capability, even to a subscriber", async () => {
    const dev = await p.developer();
    const bob = await connect(dev, "bob", { "chat:*": ["subscribe"], "logs:*": ["history"] });
    expect((await ack(bob, "subscribe", { room: "chat:lobby" })).ok).toBe(true);
    const denied = await ack<HistoryAck>(bob, "history", { room: "chat:lobby" });
    expect(denied).toMatchObject({ ok: false, error: { code: "CAPABILITY_DENIED", retry: "never" } });
    const allowed = await ack<HistoryAck>(bob, "history", { room: "logs:1" });
    expect(allowed).toMatchObject({ ok: true, offset: 0, messages: [] });
    const badName = await ack<HistoryAck>(bob, "history", { room: "no spaces" });
    expect(badName).toMatchObject({ ok: false, error: { code: "INVALID_ROOM_NAME" } });
  });
});
