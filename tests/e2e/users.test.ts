import type { MessageEnvelope, UserMessage } from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ack, handshake, poll, rawSocket, type SignedUpDeveloper } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

/**
 * `POST /v1/apps/:appId/users/:userId/publish` on the embedded platform: every connection
 * of the user gets `user.message`, nobody else does (not another user, not another app's
 * user with the same id, not an anonymous connection), and no room sees it.
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

interface Device {
  socket: Socket;
  got: UserMessage[];
  messages: MessageEnvelope[];
}

async function device(dev: SignedUpDeveloper, userId?: string): Promise<Device> {
  const token = userId
    ? (await dev.server.createToken({ userId, capabilities: { "public:*": ["subscribe"] } })).token
    : undefined;
  const socket = rawSocket(p.urls.realtime, dev.publishableKey, token);
  sockets.push(socket);
  const d: Device = { socket, got: [], messages: [] };
  socket.on("user.message", (m: UserMessage) => d.got.push(m));
  socket.on("message", (m: MessageEnvelope) => d.messages.push(m));
  expect(await handshake(socket)).toBe("connected");
  expect((await ack(socket, "subscribe", { room: "public:lobby" })).ok).toBe(true);
  return d;
}

function sendToUser(dev: SignedUpDeveloper, userId: string, body: unknown) {
  return fetch(`${p.urls.rest}/v1/apps/${dev.appId}/users/${encodeURIComponent(userId)}/publish`, {
    method: "POST",
    headers: { authorization: `Bearer ${dev.secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("publish to one user on the embedded platform", () => {
  it("reaches each of the user's connections, and nobody else", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    const phone = await device(dev, "alice");
    const laptop = await device(dev, "alice");
    const bob = await device(dev, "bob");
    const anonymous = await device(dev);
    const otherAlice = await device(other, "alice");

    const res = await sendToUser(dev, "alice", { event: "dm", data: { text: "hi" }, id: "dm-1" });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: "dm-1" });
    await poll("alice's two devices", () => [phone.got.length, laptop.got.length]).toEqual([1, 1]);
    expect(phone.got).toEqual([
      { user: "alice", event: "dm", data: { text: "hi" }, id: "dm-1", ts: expect.any(Number) },
    ]);
    expect(laptop.got).toEqual(phone.got);

    // Markers sent after it: once they are in, alice's message would have been too.
    expect((await sendToUser(dev, "bob", { event: "marker", data: 1 })).status).toBe(202);
    expect((await sendToUser(other, "alice", { event: "marker", data: 2 })).status).toBe(202);
    await dev.server.publish({ room: "public:lobby", event: "marker", data: 3 });
    await poll("the markers", () => [
      bob.got.length,
      otherAlice.got.length,
      anonymous.messages.length,
    ]).toEqual([1, 1, 1]);
    expect(bob.got.map((m) => [m.user, m.event])).toEqual([["bob", "marker"]]);
    expect(otherAlice.got.map((m) => [m.user, m.data])).toEqual([["alice", 2]]);
    expect(anonymous.got).toEqual([]);
    // A user message is in no room: subscribers of the room got only the room's marker.
    for (const d of [phone, laptop, bob, anonymous, otherAlice]) {
      expect(d.messages.map((m) => m.event)).toEqual(d === otherAlice ? [] : ["marker"]);
    }
  });

  it("keeps reaching a connection after it refreshed its token (`auth`)", async () => {
    const dev = await p.developer();
    const phone = await device(dev, "alice");
    const { token } = await dev.server.createToken({ userId: "alice", capabilities: {} });
    expect((await ack(phone.socket, "auth", { token })).ok).toBe(true);
    expect((await sendToUser(dev, "alice", { event: "after-auth", data: 1 })).status).toBe(202);
    await poll("the message after the refresh", () => phone.got.map((m) => m.event)).toEqual(["after-auth"]);
  });

  it("disconnect ends each of the user's connections with a notice, and nobody else's", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    const seen = (d: Device) => {
      const events: unknown[] = [];
      d.socket.on("notice", (n: { code: string }) => events.push(n.code));
      d.socket.on("disconnect", (reason: string) => events.push(reason));
      return events;
    };
    const phone = await device(dev, "alice");
    const laptop = await device(dev, "alice");
    const bob = await device(dev, "bob");
    const otherAlice = await device(other, "alice");
    const [phoneSaw, laptopSaw, bobSaw, otherSaw] = [phone, laptop, bob, otherAlice].map(seen);

    const res = await fetch(`${p.urls.rest}/v1/apps/${dev.appId}/users/alice/disconnect`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.secret}` },
    });
    expect([res.status, await res.json()]).toEqual([202, { ok: true }]);
    // The server helper's call, too (a body of `{}`): answered, nothing more to end.
    await dev.server.disconnectUser("alice");
    await poll("both of alice's connections ended", () => [phoneSaw, laptopSaw]).toEqual([
      ["USER_DISCONNECTED", "io server disconnect"],
      ["USER_DISCONNECTED", "io server disconnect"],
    ]);
    // Markers after it: the others are still connected and reachable.
    expect((await sendToUser(dev, "bob", { event: "marker", data: 1 })).status).toBe(202);
    expect((await sendToUser(other, "alice", { event: "marker", data: 2 })).status).toBe(202);
    await poll("the markers", () => [bob.got.length, otherAlice.got.length]).toEqual([1, 1]);
    expect([bobSaw, otherSaw]).toEqual([[], []]);
    expect([bob.socket.connected, otherAlice.socket.connected]).toEqual([true, true]);
  });

  it("checks the user id, the event and the size before sending anything", async () => {
    const dev = await p.developer();
    const code = async (res: Response) => [
      res.status,
      ((await res.json()) as { error?: { code: string } }).error?.code,
    ];
    expect(await code(await sendToUser(dev, "x".repeat(201), { event: "e", data: 1 }))).toEqual([
      400,
      "INVALID_USER_ID",
    ]);
    // Any characters, as a token's `sub`; 200 is the longest.
    expect((await sendToUser(dev, "ü/ser: 1".padEnd(200, "z"), { event: "e", data: 1 })).status).toBe(202);
    expect(await code(await sendToUser(dev, "alice", { event: "", data: 1 }))).toEqual([400, "BAD_REQUEST"]);
    expect(await code(await sendToUser(dev, "alice", { event: "e", data: 1, room: "x" }))).toEqual([
      400,
      "BAD_REQUEST",
    ]);
    expect(await code(await sendToUser(dev, "alice", { event: "e", data: "x".repeat(70_000) }))).toEqual([
      413,
      "MESSAGE_TOO_LARGE",
    ]);
  });
});
