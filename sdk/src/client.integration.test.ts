/**
 * The SDK against a real realtime node (in-process, port 0, real token signatures).
 * Disconnects are caused the way they happen in production: the server closing the
 * transport (recoverable) or the namespace (not recoverable).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Capabilities } from "@relaybase/protocol";
import type { RealtimeNode } from "@relaybase/realtime-node";
import { type NodeFixture, startNode } from "@relaybase/realtime-node/testing";
import { type AppRuntime, MemoryRoomHistory, PLANS, retentionOf, roomKey } from "@relaybase/server-kit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ResumeInfo, Room, StateChange } from "./index.js";
import {
  type ClientOptions,
  createClient,
  type GapInfo,
  type MessageMeta,
  type RelaybaseClient,
} from "./index.js";

let f: NodeFixture;
let node: RealtimeNode;
let url: string;
const clients: RelaybaseClient<object>[] = [];

beforeAll(async () => {
  f = await startNode();
  node = f.node;
  url = f.url;
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

afterAll(async () => {
  await f.close();
});

const addApp = (overrides: Partial<AppRuntime> = {}) => f.addApp(overrides);

function sign(app: AppRuntime, caps: Capabilities, ttl = 3600, sub = "user-1"): Promise<string> {
  return f.token(app.appId, caps, { ttl, sub });
}

type ChatEvents = { chat: { n: number } };

function connect(app: AppRuntime, options: Partial<ClientOptions> = {}): RelaybaseClient<ChatEvents> {
  const client = createClient<ChatEvents>({
    key: app.publishableKeys[0]!,
    url,
    transports: ["websocket"],
    reconnectionDelayMs: 50,
    reconnectionDelayMaxMs: 200,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Server-side publishes, through the node's one publish path (as REST does). */
function publish(app: AppRuntime, room: string, n: number) {
  return node.publisher.publish({ app, room, event: "chat", data: { n } });
}

function serverSocket(client: RelaybaseClient<object>) {
  const socket = node.io.of("/").sockets.get(client.connectionId ?? "");
  if (!socket) throw new Error("no server socket for this client");
  return socket;
}

function collect(room: Room<ChatEvents>) {
  const got: { n: number; meta: MessageMeta }[] = [];
  room.on("chat", (data, meta) => got.push({ n: data.n, meta }));
  return got;
}

function statusLog(room: Room<ChatEvents>) {
  const resumed: ResumeInfo[] = [];
  const gaps: GapInfo[] = [];
  room.onStatus("resumed", (info) => resumed.push(info));
  room.onStatus("gap", (gap) => gaps.push(gap));
  return { resumed, gaps };
}

function states(client: RelaybaseClient<object>) {
  const log: StateChange[] = [];
  client.on("state", (change) => log.push(change));
  return log;
}

/**
 * Waits until `condition` holds: `expect.poll` with the suite's timeout and interval
 * (vitest.config.ts), as tests/fixtures.ts does for tests/*.
 */
function until(condition: () => boolean, what: string): Promise<void> {
  return expect.poll(condition, { message: `waiting for ${what}` }).toBe(true);
}

describe("SDK against a realtime node", () => {
  it("subscribes from the room's current position and delivers in order, with metadata", async () => {
    const app = await addApp();
    await publish(app, "public:news", 0); // before the subscribe: not delivered
    const client = connect(app);
    const room = client.room("public:news");
    expect(client.room("public:news")).toBe(room);
    const got = collect(room);
    await room.subscribe();
    expect(room.state).toBe("subscribed");
    expect(client.state).toBe("connected");
    for (let n = 1; n <= 5; n++) await publish(app, "public:news", n);
    await expect.poll(() => got.length).toBe(5);
    expect(got.map((m) => m.n)).toEqual([1, 2, 3, 4, 5]);
    expect(got.map((m) => m.meta.offset)).toEqual([2, 3, 4, 5, 6]);
    expect(got[0]!.meta).toMatchObject({ room: "public:news", event: "chat" });
    expect(room.position?.offset).toBe(6);

    await room.unsubscribe();
    await publish(app, "public:news", 6);
    // A marker in another room, after it: one node and one socket, so frames arrive in
    // the order the node sent them, and n=6 (had it been sent) would be in first.
    const marker = client.room("public:marker");
    const markers = collect(marker);
    await marker.subscribe();
    await publish(app, "public:marker", 7);
    await expect.poll(() => markers.length).toBe(1);
    expect(got).toHaveLength(5);
  });

  it("rejects a refused subscribe with the error code, and a bad room name at once", async () => {
    const app = await addApp();
    const client = connect(app);
    await expect(client.room("private:x").subscribe()).rejects.toMatchObject({
      code: "CAPABILITY_DENIED",
      retry: "never",
    });
    expect(client.room("private:x").state).toBe("unsubscribed");
    expect(() => client.room("no spaces")).toThrow(expect.objectContaining({ code: "INVALID_ROOM_NAME" }));
  });

  it("publishes with an ack, and skips its own messages with echo: false", async () => {
    const app = await addApp();
    const caps: Capabilities = { "chat:*": ["subscribe", "publish"] };
    const echoing = connect(app, { getToken: () => sign(app, caps) });
    const quiet = connect(app, { getToken: () => sign(app, caps, 3600, "user-2"), echo: false });
    const a = echoing.room("chat:1");
    const b = quiet.room("chat:1");
    const gotA = collect(a);
    const gotB = collect(b);
    await Promise.all([a.subscribe(), b.subscribe()]);

    const first = await a.publish("chat", { n: 1 });
    expect(first).toMatchObject({ offset: 1 });
    expect(first.id).toMatch(/^c_/);
    const second = await b.publish("chat", { n: 2 }, { id: "my-id" });
    expect(second).toMatchObject({ id: "my-id", offset: 2 });
    // Same id again: the server stores it once and answers with the same offset.
    expect(await b.publish("chat", { n: 2 }, { id: "my-id" })).toMatchObject({ offset: 2 });

    await until(() => gotA.length === 2 && gotB.length === 1, "both rooms' messages");
    expect(gotA.map((m) => m.n)).toEqual([1, 2]);
    expect(gotA[0]!.meta.from).toEqual({ connectionId: echoing.connectionId, userId: "user-1" });
    expect(gotB.map((m) => m.n)).toEqual([1]);

    await expect(a.publish("chat", { n: 3 }, { id: "x".repeat(65) })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      messageId: "x".repeat(65),
    });
    const anonymous = connect(app);
    await expect(anonymous.room("chat:1").publish("chat", { n: 4 })).rejects.toMatchObject({
      code: "CAPABILITY_DENIED",
      room: "chat:1",
    });
  });

  it("after a non-recovered reconnect, resubscribes from its last position and replays what it missed", async () => {
    const app = await addApp();
    const caps: Capabilities = { "chat:*": ["subscribe", "publish"] };
    const client = connect(app, { getToken: () => sign(app, caps) });
    const log = states(client);
    const room = client.room("chat:r");
    const got = collect(room);
    const status = statusLog(room);
    await room.subscribe();
    await publish(app, "chat:r", 1);
    await expect.poll(() => got.length).toBe(1);
    const firstConnection = client.connectionId;

    // A server-side namespace disconnect: not recoverable, and Socket.IO would not reconnect.
    serverSocket(client).disconnect(true);
    await until(() => client.state !== "connected", "the client to notice the drop");
    await publish(app, "chat:r", 2);
    await publish(app, "chat:r", 3);
    // Queued while offline; sent once the room is resubscribed.
    const queued = room.publish("chat", { n: 4 });

    await until(() => client.state === "connected" && got.length === 4, "the client back with 4 messages");
    expect(await queued).toMatchObject({ offset: 4 });
    expect(got.map((m) => m.n)).toEqual([1, 2, 3, 4]);
    expect(client.connectionId).not.toBe(firstConnection);
    expect(status.resumed).toEqual([{ room: "chat:r", recovered: true, via: "history" }]);
    expect(status.gaps).toEqual([]);
    expect(log.find((s) => s.current === "connected" && s.previous !== "connecting")).toMatchObject({
      recovered: false,
    });
  });

  it("after a transport blip, Socket.IO recovers the session and replays what was missed", async () => {
    const app = await addApp();
    const client = connect(app);
    const log = states(client);
    const room = client.room("public:blip");
    const got = collect(room);
    const status = statusLog(room);
    await room.subscribe();
    await publish(app, "public:blip", 1);
    await expect.poll(() => got.length).toBe(1);
    const id = client.connectionId;

    serverSocket(client).conn.close(); // the transport drops; the server keeps the session
    await until(() => client.state !== "connected", "the client to notice the drop");
    await publish(app, "public:blip", 2);
    await publish(app, "public:blip", 3);

    await until(() => client.state === "connected" && got.length === 3, "the client back with 3 messages");
    expect(got.map((m) => m.n)).toEqual([1, 2, 3]);
    expect(client.connectionId).toBe(id);
    expect(status.resumed).toEqual([{ room: "public:blip", recovered: true, via: "connection" }]);
    expect(log.at(-1)).toMatchObject({ current: "connected", recovered: true });
  });

  it("after a recovered reconnect, still checks the room's history: a message the recovery missed arrives", async () => {
    const history = new MemoryRoomHistory();
    const own = await startNode({}, { history });
    try {
      const app = await own.addApp();
      const client = createClient<ChatEvents>({
        key: app.publishableKeys[0]!,
        url: own.url,
        transports: ["websocket"],
        reconnectionDelayMs: 50,
        reconnectionDelayMaxMs: 200,
      });
      clients.push(client);
      const log = states(client);
      const room = client.room("public:tail");
      const got = collect(room);
      await room.subscribe();
      await own.node.publisher.publish({ app, room: "public:tail", event: "chat", data: { n: 1 } });
      await expect.poll(() => got.length).toBe(1);
      own.node.io
        .of("/")
        .sockets.get(client.connectionId ?? "")!
        .conn.close();
      await until(() => client.state !== "connected", "the client to notice the drop");
      // Stored at the next offset but fanned out to no one: to this client, that is a
      // message published on another node while its session was being restored there.
      // It is the room's last message, so nothing later reveals the hole.
      const key = roomKey(app.appId, "public:tail");
      await history.append(
        key,
        { id: "m2", event: "chat", data: { n: 2 }, ts: Date.now() },
        retentionOf(app),
      );

      await until(() => client.state === "connected" && got.length === 2, "the client back with 2 messages");
      expect(got.map((m) => m.n)).toEqual([1, 2]);
      expect(log.at(-1)).toMatchObject({ current: "connected", recovered: true });
    } finally {
      await own.close();
    }
  });

  it("reports a gap when the room's history no longer reaches back, and continues from there", async () => {
    const app = await addApp({ limits: { ...PLANS.free, historySize: 2 } });
    const client = connect(app);
    const room = client.room("public:gap");
    const got = collect(room);
    const status = statusLog(room);
    await room.subscribe();
    await publish(app, "public:gap", 1);
    await expect.poll(() => got.length).toBe(1);

    serverSocket(client).disconnect(true);
    await until(() => client.state !== "connected", "the client to notice the drop");
    for (let n = 2; n <= 6; n++) await publish(app, "public:gap", n);
    const epoch = room.position!.epoch;

    await expect.poll(() => status.gaps.length).toBe(1);
    expect(status.gaps[0]).toEqual({
      room: "public:gap",
      lastOffset: 1,
      epoch,
      newOffset: 6,
      newEpoch: epoch,
    });
    expect(status.resumed).toEqual([{ room: "public:gap", recovered: false, via: "history" }]);
    await publish(app, "public:gap", 7);
    await expect.poll(() => got.length).toBe(2);
    expect(got.map((m) => m.n)).toEqual([1, 7]);
  });

  it("gets its token from an authEndpoint and refreshes it on the live connection before it expires", async () => {
    const app = await addApp();
    let issued = 0;
    const endpoint = createServer((req, res) => {
      issued++;
      void sign(app, { "chat:*": ["subscribe"] }, 3).then((token) => {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token }));
      });
      req.resume();
    });
    await new Promise<void>((r) => endpoint.listen(0, "127.0.0.1", r));
    try {
      const { port } = endpoint.address() as AddressInfo;
      const client = connect(app, { authEndpoint: `http://127.0.0.1:${port}/token` });
      const log = states(client);
      await client.room("chat:t").subscribe();
      const id = client.connectionId;
      // The 3 s token is replaced halfway through its life, each time, over the same
      // connection: the 4th token comes 1.5 s after the first one expired.
      await expect.poll(() => issued).toBeGreaterThanOrEqual(4);
      expect(client.state).toBe("connected");
      expect(client.connectionId).toBe(id);
      expect(log.filter((s) => s.current === "disconnected")).toEqual([]);
    } finally {
      endpoint.close();
    }
  });

  it("reconnects with a fresh token when the server expires the connection", async () => {
    const app = await addApp();
    let refuse = false;
    let calls = 0;
    const client = connect(app, {
      tokenRefreshMarginMs: 60_000,
      getToken: async () => {
        calls++;
        if (refuse) throw new Error("token service down");
        refuse = true; // the live refresh fails, so the server expires the connection
        return sign(app, { "public:*": ["subscribe"] }, 2);
      },
    });
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    client.on("state", (s) => {
      if (s.error?.code === "TOKEN_EXPIRED") refuse = false;
    });
    const room = client.room("public:exp");
    await room.subscribe();
    const id = client.connectionId;
    await until(() => client.state === "connected" && client.connectionId !== id, "a new connection");
    expect(errors).toContain("UNAVAILABLE"); // the failed refreshes were reported
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(room.state).toBe("subscribed");
  });

  it("on a shutdown notice, leaves the draining node and keeps trying (never fails)", async () => {
    const other = await startNode({ SHUTDOWN_DEADLINE_MS: 2_000 });
    const draining = other.node;
    const app = await other.addApp();
    const client = connect(app, { url: other.url });
    const log = states(client);
    await client.room("public:d").subscribe();
    const closedBy = new Promise<string>((r) =>
      draining.io
        .of("/")
        .sockets.get(client.connectionId ?? "")!
        .once("disconnect", r),
    );
    const closing = draining.close();
    await until(() => log.some((s) => s.error?.code === "SERVER_SHUTTING_DOWN"), "the shutdown notice");
    // The client closed its transport first: at its deadline the node would have closed
    // the socket itself ("server shutting down").
    expect(await closedBy).toBe("transport close");
    await closing;
    // It keeps trying: a later attempt against the node that is gone, and still not failed.
    const mark = log.length;
    await until(() => log.slice(mark).some((s) => s.current !== "connected"), "a reconnect attempt");
    expect(log.map((s) => s.current)).not.toContain("failed");
    expect(["disconnected", "reconnecting"]).toContain(client.state);
  });

  it("stops with state failed on a do-not-retry refusal", async () => {
    const client = createClient({ key: "pk_unknown", url, transports: ["websocket"] });
    clients.push(client);
    const log = states(client);
    const errors: string[] = [];
    client.on("error", (e) => errors.push(e.code));
    const pending = client.room("public:x").subscribe();
    await expect.poll(() => client.state).toBe("failed");
    expect(client.error).toMatchObject({ code: "INVALID_KEY", retry: "never" });
    expect(log.at(-1)).toMatchObject({ current: "failed", error: { code: "INVALID_KEY" } });
    expect(errors).toEqual(["INVALID_KEY"]);
    await expect(pending).rejects.toMatchObject({ code: "INVALID_KEY" });
    await expect(client.room("public:x").publish("e", 1)).rejects.toMatchObject({ code: "INVALID_KEY" });
  });

  it("closes: pending publishes reject, and connect() resumes subscribed rooms", async () => {
    const app = await addApp();
    const client = connect(app, { getToken: () => sign(app, { "chat:*": ["subscribe", "publish"] }) });
    const room = client.room("chat:c");
    const got = collect(room);
    await room.subscribe();
    client.close();
    expect(client.state).toBe("closed");
    await expect(room.publish("chat", { n: 1 })).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await publish(app, "chat:c", 1);
    client.connect();
    await expect.poll(() => got.length).toBe(1);
    expect(room.state).toBe("subscribed");
  });
});
