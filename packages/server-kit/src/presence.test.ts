import { MAX_DATA_DEPTH, type PresenceEvent } from "@relaybase/protocol";
import { describe, expect, it } from "vitest";
import { newAppId } from "./keys.js";
import { PLANS } from "./plans.js";
import { MemoryPresenceStore, NodePresence, type PresenceChange } from "./presence.js";
import type { AppRuntime } from "./tenant-directory.js";

const app = (limits: Partial<AppRuntime["limits"]> = {}): AppRuntime => ({
  appId: newAppId(),
  orgId: "org_test",
  name: "test",
  plan: "free",
  allowedOrigins: [],
  anonymousCaps: {},
  clientPublish: true,
  limits: { ...PLANS.free, ...limits },
  publishableKeys: [],
  secretKeys: [],
});

/** Socket.IO-like 20-character connection ids. */
const conn = (n: number) => `conn${String(n).padStart(16, "0")}`;

function presence(graceMs = 0) {
  const changes: Omit<PresenceEvent, "room">[] = [];
  const p = new NodePresence({
    graceMs,
    announce: (c: PresenceChange) => changes.push({ action: c.action, member: c.member }),
    logger: { warn: () => {} },
  });
  return { p, changes };
}

describe("NodePresence with the in-memory store", () => {
  it("keeps one member per user: a second connection enters nobody, the last one to go is the leave", async () => {
    const { p, changes } = presence();
    const a = app();
    await p.enter({ app: a, room: "chat", userId: "alice", connectionId: conn(1), data: { tab: 1 } });
    await p.enter({ app: a, room: "chat", userId: "alice", connectionId: conn(2), data: { tab: 1 } });
    await p.enter({ app: a, room: "chat", userId: "bob", connectionId: conn(3), data: null });
    expect(await p.count(a.appId, "chat")).toBe(2);
    // The second tab shows as an update (the member's connection changed), not an enter.
    expect(changes.map((c) => `${c.action} ${c.member.userId}`)).toEqual([
      "enter alice",
      "update alice",
      "enter bob",
    ]);
    changes.length = 0;

    await p.leave(a.appId, "chat", conn(2));
    expect(changes).toEqual([
      { action: "update", member: { userId: "alice", connectionId: conn(1), data: { tab: 1 } } },
    ]);
    changes.length = 0;
    p.disconnected(conn(1), true);
    await Promise.resolve();
    expect(changes).toEqual([
      { action: "leave", member: { userId: "alice", connectionId: conn(1), data: { tab: 1 } } },
    ]);
    expect((await p.page(a.appId, "chat")).members.map((m) => m.userId)).toEqual(["bob"]);
  });

  it("announces an update with the new data; the same data again announces nothing", async () => {
    const { p, changes } = presence();
    const a = app();
    await p.enter({ app: a, room: "r", userId: "u", connectionId: conn(1), data: { s: "away" } });
    await p.enter({ app: a, room: "r", userId: "u", connectionId: conn(1), data: { s: "here" } });
    await p.enter({ app: a, room: "r", userId: "u", connectionId: conn(1), data: { s: "here" } });
    expect(changes.map((c) => [c.action, c.member.data])).toEqual([
      ["enter", { s: "away" }],
      ["update", { s: "here" }],
    ]);
  });

  it("refuses anonymous connections, oversized and too deep data, and a new user in a full room", async () => {
    const { p } = presence();
    const a = app({ presenceMembersPerRoom: 2 });
    const enter = (userId: string | undefined, data: unknown, n = 1) =>
      p.enter({ app: a, room: "r", userId, connectionId: conn(n), data });
    await expect(enter(undefined, null)).rejects.toMatchObject({ code: "PRESENCE_USER_REQUIRED" });
    await expect(enter("u", "x".repeat(1100))).rejects.toMatchObject({ code: "PRESENCE_DATA_TOO_LARGE" });
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH + 1; i++) deep = [deep];
    await expect(enter("u", deep)).rejects.toMatchObject({ code: "DATA_TOO_DEEP" });
    await enter("u1", null, 1);
    await enter("u2", null, 2);
    await expect(enter("u3", null, 3)).rejects.toMatchObject({ code: "PRESENCE_ROOM_FULL" });
    // A user already in the room may add connections.
    await enter("u1", null, 4);
    expect(await p.count(a.appId, "r")).toBe(2);
    // The refused connection holds nothing: its disconnect announces nothing.
    p.disconnected(conn(3), true);
  });

  it("pages 10 000 members in user id order, each once", async () => {
    const { p } = presence();
    const a = app({ presenceMembersPerRoom: 10_000 });
    for (let i = 0; i < 10_000; i++) {
      await p.enter({ app: a, room: "big", userId: `user-${i}`, connectionId: conn(i), data: { i } });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await p.page(a.appId, "big", { limit: 1000, ...(cursor ? { cursor } : {}) });
      seen.push(...page.members.map((m) => m.userId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(10);
    expect(new Set(seen).size).toBe(10_000);
    expect(seen).toEqual([...seen].sort());
  });

  it("keeps a dropped connection for the grace period; coming back in time announces nothing", async () => {
    const { p, changes } = presence(200);
    const a = app();
    await p.enter({ app: a, room: "r", userId: "u", connectionId: conn(1), data: null });
    await p.enter({ app: a, room: "r", userId: "w", connectionId: conn(2), data: null });
    changes.length = 0;
    p.disconnected(conn(1), false);
    p.reconnected(conn(1));
    p.disconnected(conn(2), false);
    await expect
      .poll(() => changes.map((c) => `${c.action} ${c.member.userId}`), { timeout: 5_000 })
      .toEqual(["leave w"]);
    expect(await p.count(a.appId, "r")).toBe(1);
  });

  it("keeps apps apart: the same room name in another app is another room", async () => {
    const store = new MemoryPresenceStore();
    const a = app();
    const b = app();
    await store.put({ appId: a.appId, room: "r", userId: "u", connectionId: conn(1), data: "1", ts: 1 }, 10);
    expect(await store.count(b.appId, "r")).toBe(0);
    expect((await store.page(b.appId, "r")).members).toEqual([]);
  });
});
