/**
 * Presence over the socket against a real in-process node (memory store): capabilities,
 * identity, announcements to subscribers, paging and tenant isolation.
 */
import type { PresenceEvent } from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connected, emitAck, type NodeFixture, startNode } from "./test-fixtures.js";

let f: NodeFixture;

beforeAll(async () => {
  f = await startNode({ PRESENCE_GRACE_MS: 300 });
});
afterAll(() => f.close());

async function member(
  appId: string,
  key: string,
  sub: string | undefined,
  caps = { "chat:*": ["presence", "subscribe"] },
) {
  const token = await f.token(appId, caps as never, sub ? { sub } : {});
  const socket = await connected(f.client({ key, token }));
  const events: PresenceEvent[] = [];
  socket.on("presence", (e: PresenceEvent) => events.push(e));
  return { socket, events };
}

const summary = (events: PresenceEvent[]) => events.map((e) => `${e.action} ${e.member.userId}`);

describe("presence on a realtime node", () => {
  it("announces enter, update and leave to subscribers; one member per user", async () => {
    const app = await f.addApp();
    const key = app.publishableKeys[0]!;
    const watcher = await member(app.appId, key, "watcher");
    expect(await emitAck(watcher.socket, "subscribe", { room: "chat:1" })).toMatchObject({ ok: true });

    const alice1 = await member(app.appId, key, "alice");
    const alice2 = await member(app.appId, key, "alice");
    expect(
      await emitAck(alice1.socket, "presence.enter", { room: "chat:1", data: { name: "Alice" } }),
    ).toEqual({
      ok: true,
    });
    await expect.poll(() => summary(watcher.events)).toEqual(["enter alice"]);
    expect(watcher.events[0]).toEqual({
      room: "chat:1",
      action: "enter",
      member: { userId: "alice", connectionId: alice1.socket.id, data: { name: "Alice" } },
    });
    await emitAck(alice2.socket, "presence.enter", { room: "chat:1", data: { name: "Alice" } });
    await emitAck(alice2.socket, "presence.update", { room: "chat:1", data: { name: "Alice", away: true } });
    const get = await emitAck(watcher.socket, "presence.get", { room: "chat:1" });
    expect(get).toEqual({
      ok: true,
      members: [{ userId: "alice", connectionId: alice2.socket.id, data: { name: "Alice", away: true } }],
    });

    // The first connection closing is not the user leaving; the last one is.
    alice2.socket.disconnect();
    await emitAck(alice1.socket, "presence.leave", { room: "chat:1" });
    await expect
      .poll(() => summary(watcher.events))
      .toEqual(["enter alice", "update alice", "update alice", "update alice", "leave alice"]);
    expect((await emitAck(watcher.socket, "presence.get", { room: "chat:1" })).members).toEqual([]);
  });

  it("refuses without the capability, without a user id, and over the plan's members per room", async () => {
    const app = await f.addApp({ limits: { ...(await f.addApp()).limits, presenceMembersPerRoom: 1 } });
    const key = app.publishableKeys[0]!;
    const noCap = await member(app.appId, key, "u", { "chat:*": ["subscribe"] } as never);
    expect(await emitAck(noCap.socket, "presence.enter", { room: "chat:1" })).toMatchObject({
      ok: false,
      error: { code: "CAPABILITY_DENIED", retry: "never" },
    });
    const nothing = await member(app.appId, key, "u", { "other:*": ["subscribe"] } as never);
    expect(await emitAck(nothing.socket, "presence.get", { room: "chat:1" })).toMatchObject({
      ok: false,
      error: { code: "CAPABILITY_DENIED" },
    });
    const anonymous = await member(app.appId, key, undefined);
    expect(await emitAck(anonymous.socket, "presence.enter", { room: "chat:1" })).toMatchObject({
      ok: false,
      error: { code: "PRESENCE_USER_REQUIRED" },
    });
    const first = await member(app.appId, key, "first");
    const second = await member(app.appId, key, "second");
    expect(await emitAck(first.socket, "presence.enter", { room: "chat:1" })).toEqual({ ok: true });
    expect(await emitAck(second.socket, "presence.enter", { room: "chat:1" })).toMatchObject({
      ok: false,
      error: { code: "PRESENCE_ROOM_FULL" },
    });
    expect(
      await emitAck(first.socket, "presence.enter", { room: "chat:1", data: "x".repeat(2000) }),
    ).toMatchObject({
      ok: false,
      error: { code: "PRESENCE_DATA_TOO_LARGE" },
    });
    expect(await emitAck(first.socket, "presence.get", { room: "chat:1", limit: 5000 })).toMatchObject({
      ok: false,
      error: { code: "BAD_REQUEST" },
    });
  });

  it("keeps apps apart: another app's client neither sees nor enters this app's room", async () => {
    const a = await f.addApp();
    const b = await f.addApp();
    const inA = await member(a.appId, a.publishableKeys[0]!, "alice");
    await emitAck(inA.socket, "presence.enter", { room: "chat:1" });
    const inB = await member(b.appId, b.publishableKeys[0]!, "mallory");
    await emitAck(inB.socket, "subscribe", { room: "chat:1" });
    expect((await emitAck(inB.socket, "presence.get", { room: "chat:1" })).members).toEqual([]);
    await emitAck(inB.socket, "presence.enter", { room: "chat:1" });
    const inA2 = await member(a.appId, a.publishableKeys[0]!, "bob");
    expect(
      (await emitAck(inA2.socket, "presence.get", { room: "chat:1" })).members.map(
        (m: { userId: string }) => m.userId,
      ),
    ).toEqual(["alice"]);
    // A token of app A with app B's key is refused at the handshake.
    const crossToken = await f.token(a.appId, { "*": ["presence"] });
    await expect(
      connected(f.client({ key: b.publishableKeys[0]!, token: crossToken })),
    ).rejects.toMatchObject({
      code: "TOKEN_APP_MISMATCH",
    });
    expect(inB.events).toEqual([
      { room: "chat:1", action: "enter", member: expect.objectContaining({ userId: "mallory" }) },
    ]);
  });

  it("a refreshed token without the presence capability takes the member out of the room", async () => {
    const app = await f.addApp();
    const key = app.publishableKeys[0]!;
    const watcher = await member(app.appId, key, "watcher");
    await emitAck(watcher.socket, "subscribe", { room: "chat:1" });
    const frank = await member(app.appId, key, "frank");
    await emitAck(frank.socket, "presence.enter", { room: "chat:1" });
    await expect.poll(() => summary(watcher.events)).toEqual(["enter frank"]);
    const narrower = await f.token(app.appId, { "chat:*": ["subscribe"] }, { sub: "frank" });
    expect(await emitAck(frank.socket, "auth", { token: narrower })).toMatchObject({ ok: true });
    await expect.poll(() => summary(watcher.events)).toEqual(["enter frank", "leave frank"]);
  });

  it("a dropped connection that comes back within the grace period shows no leave", async () => {
    const app = await f.addApp();
    const key = app.publishableKeys[0]!;
    const watcher = await member(app.appId, key, "watcher");
    await emitAck(watcher.socket, "subscribe", { room: "chat:1" });
    const dropping = await member(app.appId, key, "carol");
    await emitAck(dropping.socket, "presence.enter", { room: "chat:1" });
    await expect.poll(() => summary(watcher.events)).toEqual(["enter carol"]);
    // The transport drops (not a goodbye): a new connection of the same user enters in time.
    (dropping.socket as Socket).io.engine.close();
    const back = await member(app.appId, key, "carol");
    await emitAck(back.socket, "presence.enter", { room: "chat:1" });
    await new Promise((r) => setTimeout(r, 600));
    expect(summary(watcher.events)).toEqual(["enter carol", "update carol"]);
    // Without coming back, the grace period ends in a leave.
    back.socket.io.engine.close();
    await expect.poll(() => summary(watcher.events)).toEqual(["enter carol", "update carol", "leave carol"]);
  });
});
