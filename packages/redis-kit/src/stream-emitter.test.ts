import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type MessageEnvelope, RelaybaseError, type SkipMarker } from "@relaybase/protocol";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { type Socket as ClientSocket, io as connectClient } from "socket.io-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { StreamEmitterFanout } from "./stream-emitter.js";
import { OwnRedisServer, waitFor } from "./testing/redis-server.js";

/**
 * The contract of `StreamEmitterFanout` (DESIGN §5): the entries it writes are read by a
 * REAL `@socket.io/redis-streams-adapter` node exactly like the adapter's own broadcasts,
 * including Socket.IO's connection state recovery, which replays them with XRANGE.
 * Each test has its own stream; Redis is a server of our own, so it can be killed.
 */

let redis: OwnRedisServer;
let emitterClient: RedisClient;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  redis = await OwnRedisServer.start();
  emitterClient = createRedisClient(redis.url, { name: "stream-emitter-test" });
  await emitterClient.connect();
});

afterEach(async () => {
  // Last registered, first closed: clients before their servers.
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch {
      // Already closed, or Redis is gone: nothing left to release.
    }
  }
});

afterAll(async () => {
  await emitterClient?.disconnect().catch(() => {});
  await redis?.stop();
});

const streamName = () => `rbtest-stream-${randomBytes(6).toString("hex")}`;
const ROOM = "a:app_contract:lobby";

interface AdapterNode {
  io: Server;
  url: string;
}

/** A Socket.IO server as a realtime node runs it: streams adapter, one stream, recovery on. */
async function startNode(stream: string): Promise<AdapterNode> {
  // A name of its own: its duplicated reader connection carries it in CLIENT LIST.
  const name = `rbtest-node-${randomBytes(4).toString("hex")}`;
  const adapterRedis = createClient({ url: redis.url, name });
  adapterRedis.on("error", () => {});
  await adapterRedis.connect();
  const httpServer = createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(adapterRedis, { streamCount: 1, streamName: stream, maxLen: 1_000 }),
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: false },
  });
  io.on("connection", (socket) => {
    // As the realtime node does on `subscribe`; a recovered socket keeps its rooms.
    if (!socket.recovered) socket.join(ROOM);
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
  cleanups.push(async () => {
    await io.close();
    await adapterRedis.quit();
  });
  const { port } = httpServer.address() as AddressInfo;
  // The adapter starts reading at "$" once its reader connection is up: an entry written
  // before its first XREAD would be missed, as it would by a node that just started.
  await waitFor(async () =>
    (await clientList()).some((c) => c.includes(`name=${name} `) && c.includes("cmd=xread")),
  );
  return { io, url: `http://127.0.0.1:${port}` };
}

async function clientList(): Promise<string[]> {
  return (await emitterClient.sendCommand<string>(["CLIENT", "LIST"])).split("\n");
}

interface TestClient {
  socket: ClientSocket;
  messages: MessageEnvelope[];
  skips: SkipMarker[];
}

async function connect(url: string): Promise<TestClient> {
  const socket = connectClient(url, { transports: ["websocket"], reconnectionDelay: 50, forceNew: true });
  const client: TestClient = { socket, messages: [], skips: [] };
  // The adapter appends the stream entry id (the recovery offset) as a last argument.
  socket.on("message", (envelope: MessageEnvelope) => client.messages.push(envelope));
  socket.on("skip", (marker: SkipMarker) => client.skips.push(marker));
  cleanups.push(() => socket.disconnect());
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return client;
}

let counter = 0;
function envelope(overrides: Partial<MessageEnvelope> = {}): MessageEnvelope {
  counter += 1;
  return {
    room: "lobby",
    event: "chat",
    data: { text: `hello ${counter}`, list: [1, "two", null], nested: { ok: true } },
    id: `m${counter}`,
    offset: counter,
    epoch: "ep1",
    ts: 1_700_000_000_000 + counter,
    ...overrides,
  };
}

describe("StreamEmitterFanout against a real redis-streams-adapter node", () => {
  it("writes the entry the adapter itself writes for the same broadcast", async () => {
    const stream = streamName();
    const node = await startNode(stream);
    const env = envelope();
    node.io.to(ROOM).emit("message", env);
    await waitFor(async () => (await emitterClient.xLen(stream)) === 1);
    await new StreamEmitterFanout(emitterClient, { streamName: stream }).deliver(ROOM, env);
    const entries = await emitterClient.xRange(stream, "-", "+");
    expect(entries).toHaveLength(2);
    const [adapterEntry, emitterEntry] = entries.map((e) => e.message) as [
      Record<string, string>,
      Record<string, string>,
    ];
    expect(Object.keys(emitterEntry).sort()).toEqual(Object.keys(adapterEntry).sort());
    expect(emitterEntry.nsp).toBe(adapterEntry.nsp);
    expect(emitterEntry.type).toBe(adapterEntry.type);
    // Adapters skip only entries carrying their own uid.
    expect(emitterEntry.uid).not.toBe(adapterEntry.uid);
    // The emitter also writes `packet.nsp`; the reading adapter overwrites it with its own
    // namespace's name before encoding (in-memory-adapter broadcast), so it is inert.
    const { packet, ...rest } = JSON.parse(emitterEntry.data!);
    expect(packet.nsp).toBe("/");
    delete packet.nsp;
    expect({ packet, ...rest }).toEqual(JSON.parse(adapterEntry.data!));
  });

  it("delivers `message` with the envelope to every socket in the room, on every node", async () => {
    const stream = streamName();
    const [one, two] = [await startNode(stream), await startNode(stream)];
    const a = await connect(one.url);
    const b = await connect(two.url);
    const outsider = await connect(two.url);
    // Not in the room: it leaves right after connecting.
    await two.io.of("/").sockets.get(outsider.socket.id!)!.leave(ROOM);

    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream });
    const env = envelope({ from: { connectionId: "c1", userId: "u1" } });
    await fanout.deliver(ROOM, env);
    await waitFor(() => a.messages.length === 1 && b.messages.length === 1);
    expect(a.messages).toEqual([env]);
    expect(b.messages).toEqual([env]);
    // Nothing for a socket outside the room, and no skip markers without an exception. The
    // outsider joins, and a marker follows: each node reads the stream in order, so once
    // the marker is in, anything the first entry would have sent anyone has arrived.
    two.io.of("/").sockets.get(outsider.socket.id!)!.join(ROOM);
    const marker = envelope();
    await fanout.deliver(ROOM, marker);
    await waitFor(() => [a, b, outsider].every((c) => c.messages.at(-1)?.id === marker.id));
    expect(outsider.messages).toEqual([marker]);
    expect([a.messages, b.messages]).toEqual([
      [env, marker],
      [env, marker],
    ]);
    expect([...a.skips, ...b.skips, ...outsider.skips]).toEqual([]);
  });

  it("sends `skip` instead of the message to the excepted connection only", async () => {
    const stream = streamName();
    const [one, two] = [await startNode(stream), await startNode(stream)];
    const excepted = await connect(one.url);
    const sameNode = await connect(one.url);
    const otherNode = await connect(two.url);

    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream });
    const env = envelope();
    await fanout.deliver(ROOM, env, excepted.socket.id);
    await waitFor(
      () => excepted.skips.length === 1 && sameNode.messages.length === 1 && otherNode.messages.length === 1,
    );
    expect(excepted.skips).toEqual([{ room: env.room, offset: env.offset, epoch: env.epoch }]);
    expect(sameNode.messages).toEqual([env]);
    expect(otherNode.messages).toEqual([env]);

    // An excepted socket on the other node: the socket-id room works across nodes too.
    // It is also the marker for the first delivery: each node reads the stream in order,
    // so once everyone has env2's message or marker, nothing of the first is still coming.
    const env2 = envelope();
    await fanout.deliver(ROOM, env2, otherNode.socket.id);
    await waitFor(
      () => otherNode.skips.length === 1 && excepted.messages.length === 1 && sameNode.messages.length === 2,
    );
    // The excepted socket got no copy of the first message; nobody else got its marker.
    expect(excepted.messages).toEqual([env2]);
    expect(excepted.skips).toEqual([{ room: env.room, offset: env.offset, epoch: env.epoch }]);
    expect(sameNode.skips).toEqual([]);
    expect(otherNode.skips).toEqual([{ room: env2.room, offset: env2.offset, epoch: env2.epoch }]);
    expect(sameNode.messages).toEqual([env, env2]);
  });

  it("delivers `user.message` to the sockets of one user room, on every node, and no one else", async () => {
    const stream = streamName();
    const [one, two] = [await startNode(stream), await startNode(stream)];
    const USER = "u:app_contract:alice";
    const clients: TestClient[] = [];
    const device = async (url: string, node: AdapterNode, userRoom: string) => {
      const client = await connect(url);
      clients.push(client);
      const got: unknown[] = [];
      client.socket.on("user.message", (m: unknown) => got.push(m));
      await node.io.of("/").sockets.get(client.socket.id!)!.join(userRoom);
      return got;
    };
    const phone = await device(one.url, one, USER);
    const laptop = await device(two.url, two, USER);
    const bob = await device(two.url, two, "u:app_contract:bob");
    const otherApp = await device(one.url, one, "u:app_other:alice");

    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream });
    const message = { user: "alice", event: "dm", data: { text: "hi" }, id: "m1", ts: 1_700_000_000_000 };
    await fanout.deliverToUser(USER, message);
    // Markers for the others, written after: each node reads the stream in order.
    const toBob = { ...message, user: "bob", id: "m2" };
    const toOther = { ...message, id: "m3" };
    await fanout.deliverToUser("u:app_contract:bob", toBob);
    await fanout.deliverToUser("u:app_other:alice", toOther);
    await waitFor(
      () => phone.length === 1 && laptop.length === 1 && bob.length === 1 && otherApp.length === 1,
    );
    expect(phone).toEqual([message]);
    expect(laptop).toEqual([message]);
    expect(bob).toEqual([toBob]);
    expect(otherApp).toEqual([toOther]);
    // Every socket here is also in ROOM: a user message is no room message.
    expect(clients.flatMap((c) => c.messages)).toEqual([]);
  });

  it("disconnects the sockets of one user room on every node, after a notice, and no one else", async () => {
    const stream = streamName();
    const [one, two] = [await startNode(stream), await startNode(stream)];
    const device = async (url: string, node: AdapterNode, userRoom: string) => {
      const client = await connect(url);
      const seen: unknown[] = [];
      client.socket.on("notice", (n: unknown) => seen.push(n));
      client.socket.on("disconnect", (reason: string) => seen.push(`disconnect: ${reason}`));
      await node.io.of("/").sockets.get(client.socket.id!)!.join(userRoom);
      return { client, seen };
    };
    const phone = await device(one.url, one, "u:app_contract:alice");
    const laptop = await device(two.url, two, "u:app_contract:alice");
    const bob = await device(two.url, two, "u:app_contract:bob");

    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream });
    const notice = { code: "USER_DISCONNECTED", message: "ended", retry: "reauth" } as const;
    await fanout.disconnectUser("u:app_contract:alice", notice);
    await waitFor(() => phone.seen.length === 2 && laptop.seen.length === 2);
    // The notice first, then a server-side disconnect (Socket.IO does not reconnect by itself).
    for (const d of [phone, laptop]) expect(d.seen).toEqual([notice, "disconnect: io server disconnect"]);
    // Bob is still there: a later message reaches him (each node reads the stream in order).
    const marker = envelope();
    await fanout.deliver(ROOM, marker);
    await waitFor(() => bob.client.messages.length === 1);
    expect(bob.seen).toEqual([]);
    expect(bob.client.socket.connected).toBe(true);
    expect([phone.client.socket.connected, laptop.client.socket.connected]).toEqual([false, false]);
  });

  it("is replayed by Socket.IO's connection state recovery after a transport drop", async () => {
    const stream = streamName();
    const node = await startNode(stream);
    const client = await connect(node.url);
    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream });
    const firstId = client.socket.id;

    // One message first: recovery needs the client to hold an offset.
    const first = envelope();
    await fanout.deliver(ROOM, first);
    await waitFor(() => client.messages.length === 1);

    // The transport drops (server side: the server sees it and stores the session).
    const disconnected = new Promise((r) => client.socket.once("disconnect", r));
    node.io.of("/").sockets.get(firstId!)!.conn.close();
    await disconnected;
    const missed = [envelope(), envelope(), envelope()];
    for (const env of missed) await fanout.deliver(ROOM, env);
    // A skip marker for this very socket while it is away is replayed too.
    const skippedWhileAway = envelope();
    await fanout.deliver(ROOM, skippedWhileAway, firstId);

    await waitFor(() => client.socket.connected);
    expect(client.socket.recovered).toBe(true);
    expect(client.socket.id).toBe(firstId);
    await waitFor(() => client.messages.length === 4 && client.skips.length === 1);
    expect(client.messages).toEqual([first, ...missed]);
    expect(client.skips).toEqual([
      { room: skippedWhileAway.room, offset: skippedWhileAway.offset, epoch: skippedWhileAway.epoch },
    ]);

    // And live delivery goes on after the recovery.
    const after = envelope();
    await fanout.deliver(ROOM, after);
    await waitFor(() => client.messages.length === 5);
    expect(client.messages.at(-1)).toEqual(after);
  });

  it("is replayed after a drop the client sees first (engine closed client side)", async () => {
    const stream = streamName();
    const node = await startNode(stream);
    const client = await connect(node.url);
    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream });
    await fanout.deliver(ROOM, envelope());
    await waitFor(() => client.messages.length === 1);

    const serverSaw = new Promise((r) =>
      node.io.of("/").sockets.get(client.socket.id!)!.once("disconnect", r),
    );
    client.socket.io.engine.close();
    await serverSaw; // the session is stored once the server sees the close
    const missed = [envelope(), envelope(), envelope()];
    for (const env of missed) await fanout.deliver(ROOM, env);
    await waitFor(() => client.socket.connected);
    expect(client.socket.recovered).toBe(true);
    await waitFor(() => client.messages.length === 4);
    expect(client.messages.slice(1)).toEqual(missed);
  });

  it("keeps the stream bounded with approximate MAXLEN trimming", async () => {
    const stream = streamName();
    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream, maxLen: 10 });
    for (let i = 0; i < 500; i++) await fanout.deliver(ROOM, envelope());
    const length = await emitterClient.xLen(stream);
    // "~" trims whole radix-tree nodes (100 entries by default): bounded, not exact.
    expect(length).toBeGreaterThanOrEqual(10);
    expect(length).toBeLessThanOrEqual(200);
    await emitterClient.del(stream);
  });

  it("rejects with UNAVAILABLE while Redis does not answer, then delivers again", async () => {
    const stream = streamName();
    const node = await startNode(stream);
    const client = await connect(node.url);
    const fanout = new StreamEmitterFanout(emitterClient, { streamName: stream, commandTimeoutMs: 300 });

    // Redis up but not answering writes: rejected after the command timeout.
    await emitterClient.sendCommand(["CLIENT", "PAUSE", "1500", "WRITE"]);
    const paused = await fanout.deliver(ROOM, envelope()).catch((e: unknown) => e);
    expect(paused).toBeInstanceOf(RelaybaseError);
    expect((paused as RelaybaseError).code).toBe("UNAVAILABLE");
    await emitterClient.sendCommand(["CLIENT", "UNPAUSE"]);

    // Redis gone: rejected at once (no offline queue), never resolved. With a command
    // timeout far longer than "at once" may take: failing fast is not waiting for it.
    await redis.stop();
    await waitFor(() => !emitterClient.isReady);
    const patient = new StreamEmitterFanout(emitterClient, { streamName: stream, commandTimeoutMs: 20_000 });
    const started = Date.now();
    const down = await patient.deliver(ROOM, envelope()).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(RelaybaseError);
    expect((down as RelaybaseError).code).toBe("UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(10_000);

    // Back (empty, same port): the emitter's client reconnects by itself, and the
    // adapter's reader resumes from its old entry id on the new stream.
    await redis.restart();
    await waitFor(() => emitterClient.isReady);
    const env = envelope();
    let delivered = false;
    await waitFor(async () => {
      if (!delivered)
        delivered = await fanout.deliver(ROOM, env).then(
          () => true,
          () => false,
        );
      return delivered;
    });
    await waitFor(() => client.messages.some((m) => m.id === env.id));
  });
});
