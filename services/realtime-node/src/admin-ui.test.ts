import bcrypt from "bcryptjs";
import { io as connect, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRealtimeNodeConfig } from "./config.js";
import { connected, emitAck, type NodeFixture, startNode } from "./test-fixtures.js";

// Cost 4: the lowest bcrypt allows, so the test does not spend seconds hashing.
const PASSWORD = "a long admin password";
const HASH = bcrypt.hashSync(PASSWORD, 4);

describe("Admin UI configuration", () => {
  it("is off by default, read-only when on, and refuses to start without a bcrypt hash", () => {
    const defaults = loadRealtimeNodeConfig({});
    expect(defaults).toMatchObject({
      ADMIN_UI_ENABLED: false,
      ADMIN_UI_READONLY: true,
      ADMIN_UI_USERNAME: "admin",
    });
    expect(() => loadRealtimeNodeConfig({ ADMIN_UI_ENABLED: "true" })).toThrow(
      /ADMIN_UI_PASSWORD_HASH: required/,
    );
    expect(() =>
      loadRealtimeNodeConfig({ ADMIN_UI_ENABLED: "true", ADMIN_UI_PASSWORD_HASH: PASSWORD }),
    ).toThrow(/must be a bcrypt hash/);
    expect(loadRealtimeNodeConfig({ ADMIN_UI_ENABLED: "true", ADMIN_UI_PASSWORD_HASH: HASH })).toMatchObject({
      ADMIN_UI_ENABLED: true,
      ADMIN_UI_PASSWORD_HASH: HASH,
    });
  });
});

describe("Admin UI on a node", () => {
  let f: NodeFixture;
  const sockets: Socket[] = [];
  const admin = (auth: Record<string, unknown>) => {
    const socket = connect(`${f.url}/admin`, { auth, transports: ["websocket"], reconnection: false });
    sockets.push(socket);
    return socket;
  };
  const refusal = (socket: Socket) =>
    new Promise<string>((resolve, reject) => {
      socket.once("connect", () => reject(new Error("connected")));
      socket.once("connect_error", (err) => resolve(err.message));
    });

  beforeAll(async () => {
    f = await startNode({
      ADMIN_UI_ENABLED: true,
      ADMIN_UI_PASSWORD_HASH: HASH,
      ADMIN_UI_SERVER_ID: "node-a",
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await f?.close();
  });

  it("lets in the operator with the credentials: production mode, read-only, the node's serverId", async () => {
    const socket = admin({ username: "admin", password: PASSWORD });
    const config = new Promise<{ supportedFeatures: string[] }>((resolve) => socket.once("config", resolve));
    const stats = new Promise<{ serverId: string }>((resolve) => socket.once("server_stats", resolve));
    await connected(socket);
    // Read-only: no emit/join/leave/disconnect; production: no ALL_EVENTS (no per-socket stream).
    expect((await config).supportedFeatures).toEqual(["AGGREGATED_EVENTS"]);
    expect((await stats).serverId).toBe("node-a");
    expect(f.node.adminServerId).toBe("node-a");
  });

  it("refuses a wrong password, no credentials, and a tenant's key", async () => {
    const app = await f.addApp();
    expect(await refusal(admin({ username: "admin", password: "wrong password" }))).toBe(
      "invalid credentials",
    );
    expect(await refusal(admin({}))).toBe("invalid credentials");
    expect(await refusal(admin({ key: app.publishableKeys[0] }))).toBe("invalid credentials");
  });

  it("carries no tenant traffic: a message reaches its subscriber, never the admin socket", async () => {
    const operator = admin({ username: "admin", password: PASSWORD });
    const seen: string[] = [];
    operator.onAny((event) => seen.push(event));
    await connected(operator);

    const app = await f.addApp();
    const token = await f.token(app.appId, { "chat:*": ["subscribe", "publish"] });
    const client = await connected(f.client({ key: app.publishableKeys[0], token }));
    expect(await emitAck(client, "subscribe", { room: "chat:x" })).toMatchObject({ ok: true });
    const message = new Promise((resolve) => client.once("message", resolve));
    expect(
      await emitAck(client, "publish", { room: "chat:x", event: "e", data: { n: 1 }, id: "m1" }),
    ).toMatchObject({
      ok: true,
    });
    await message;
    expect(seen.filter((e) => e !== "server_stats" && e !== "config" && e !== "session")).toEqual([]);
  });
});
