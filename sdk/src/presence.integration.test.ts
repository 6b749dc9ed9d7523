/**
 * `room.presence` against a real in-process node (memory store, real token signatures):
 * enter/update/leave as subscribers see them, `get()` over pages, `sync`, and entering
 * again by itself after a reconnect without others seeing a leave.
 */
import { fileURLToPath } from "node:url";
import type { Capabilities } from "@relaybase/protocol";
import { type NodeFixture, startNode } from "@relaybase/realtime-node/testing";
import type { AppRuntime, NodePresence } from "@relaybase/server-kit";
import { build } from "esbuild";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, type PresenceMember, type RelaybaseClient } from "./index.js";

let f: NodeFixture;
const clients: RelaybaseClient<object>[] = [];

beforeAll(async () => {
  f = await startNode({ PRESENCE_GRACE_MS: 2_000 });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(() => f.close());

const CAPS: Capabilities = { "doc:*": ["subscribe", "presence"] };

function connect(
  app: AppRuntime,
  sub: string | undefined,
  caps: Capabilities = CAPS,
): RelaybaseClient<object> {
  const client = createClient({
    key: app.publishableKeys[0]!,
    url: f.url,
    transports: ["websocket"],
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 200,
    getToken: () => f.token(app.appId, caps, sub ? { sub } : {}),
  });
  clients.push(client);
  return client;
}

function record(client: RelaybaseClient<object>, room: string) {
  const seen: string[] = [];
  for (const action of ["enter", "update", "leave"] as const) {
    client.room(room).presence.on(action, (m: PresenceMember) => seen.push(`${action} ${m.userId}`));
  }
  return seen;
}

describe("room.presence", () => {
  it("enters, updates and leaves as subscribers see it", async () => {
    const app = await f.addApp({ limits: { ...(await f.addApp()).limits, presenceMembersPerRoom: 2_000 } });
    const watcher = connect(app, "watcher");
    const seen = record(watcher, "doc:1");
    const syncs: PresenceMember[][] = [];
    watcher.room("doc:1").presence.on("sync", (members) => syncs.push(members));
    await watcher.room("doc:1").subscribe();
    await expect.poll(() => syncs.length).toBe(1);
    expect(syncs[0]).toEqual([]);

    const alice = connect(app, "alice");
    await alice.room("doc:1").presence.enter({ name: "Alice" });
    await alice.room("doc:1").presence.update({ name: "Alice", typing: true });
    await expect.poll(() => seen).toEqual(["enter alice", "update alice"]);
    expect(watcher.room("doc:1").presence.members).toEqual([
      { userId: "alice", connectionId: alice.connectionId, data: { name: "Alice", typing: true } },
    ]);

    await alice.room("doc:1").presence.leave();
    await expect.poll(() => seen).toEqual(["enter alice", "update alice", "leave alice"]);
    expect(await watcher.room("doc:1").presence.get()).toEqual([]);
  });

  it("get() follows the pages: 2 500 members, each once, in user id order", async () => {
    const app = await f.addApp({
      limits: { ...(await f.addApp()).limits, presenceMembersPerRoom: 3_000, roomsPerConnection: 10 },
    });
    const real = connect(app, "user-0000");
    await real.room("doc:big").presence.enter({ i: 0 });
    // The others enter through the node's presence directly, as 2 499 connections would.
    const presence = f.node.presence as NodePresence;
    for (let i = 1; i < 2_500; i++) {
      const userId = `user-${String(i).padStart(4, "0")}`;
      await presence.enter({
        app,
        room: "doc:big",
        userId,
        connectionId: `c${i}`.padEnd(20, "x"),
        data: { i },
      });
    }
    const reader = connect(app, "reader");
    const got = await reader.room("doc:big").presence.get();
    expect(got).toHaveLength(2_500);
    expect(got.map((m) => m.userId)).toEqual(
      Array.from({ length: 2_500 }, (_, i) => `user-${String(i).padStart(4, "0")}`),
    );
    expect(got[0]).toEqual({ userId: "user-0000", connectionId: real.connectionId, data: { i: 0 } });
  });

  it("enters again by itself after the connection drops, and others see no leave or enter", async () => {
    const app = await f.addApp();
    const watcher = connect(app, "watcher");
    const seen = record(watcher, "doc:2");
    await watcher.room("doc:2").subscribe();
    const bob = connect(app, "bob");
    await bob.room("doc:2").presence.enter({ name: "Bob" });
    await expect.poll(() => seen).toEqual(["enter bob"]);

    // Not recoverable (a new connection id): the SDK enters again with the same data.
    const before = bob.connectionId;
    f.node.io
      .of("/")
      .sockets.get(before ?? "")!
      .conn.close();
    await expect.poll(() => bob.state === "connected" && bob.connectionId !== undefined).toBe(true);
    await expect
      .poll(async () => (await watcher.room("doc:2").presence.get()).map((m) => m.connectionId), {
        timeout: 5_000,
      })
      .toEqual([bob.connectionId]);
    // Past the old connection's grace period: still no leave.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(seen.filter((s) => !s.startsWith("update"))).toEqual(["enter bob"]);
    expect((await watcher.room("doc:2").presence.get()).map((m) => m.userId)).toEqual(["bob"]);
  });

  it("rejects without the capability and for anonymous connections, with the documented codes", async () => {
    const app = await f.addApp({ anonymousCaps: { "doc:*": ["subscribe", "presence"] } });
    const noCap = connect(app, "u", { "doc:*": ["subscribe"] });
    await expect(noCap.room("doc:1").presence.enter({})).rejects.toMatchObject({ code: "CAPABILITY_DENIED" });
    expect(noCap.room("doc:1").presence.entered).toBe(false);
    const anonymous = connect(app, undefined);
    await expect(anonymous.room("doc:1").presence.enter({})).rejects.toMatchObject({
      code: "PRESENCE_USER_REQUIRED",
    });
  });

  it("keeps zod out of the SDK: its browser bundle has no zod module", async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL("./index.ts", import.meta.url))],
      bundle: true,
      write: false,
      metafile: true,
      format: "esm",
      platform: "browser",
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes("protocol/src/presence.ts"))).toBe(true);
    expect(inputs.filter((i) => i.includes("node_modules/zod") || i.endsWith("schemas.ts"))).toEqual([]);
  });
});
