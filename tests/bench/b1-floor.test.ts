/**
 * B1's floors (bench/lib/b2-node.ts), used by bench/rest-floor.ts and
 * bench/handshake-floor.ts. With every B1_FLOOR level on, a REST publish is checked,
 * stored with an offset, delivered with it, and answered with Relaybase's 202 body; with
 * B1_TOKENS, a connection gets in only with one of the tokens it signed. So each floor
 * measures that work, not a no-op.
 */
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchServer, startServer } from "../../bench/lib/servers.js";

describe("B1 with B1_FLOOR=checks", () => {
  let server: BenchServer;
  let client: Socket;
  beforeAll(async () => {
    server = await startServer("b1", { env: { B1_FLOOR: "checks" } });
    client = io(server.info.url, { transports: ["websocket"] });
    const ack = await client.timeout(5000).emitWithAck("subscribe", { room: "public:floor" });
    expect(ack).toEqual({ ok: true });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await server?.stop();
  });

  const publish = (body: unknown) =>
    fetch(server.info.publishUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("stores each message under the room's next offset and delivers it with that offset", async () => {
    const received: { offset: number; epoch: string; id: string; data: unknown }[] = [];
    client.on("message", (m) => received.push(m));
    const answers = [];
    for (const n of [1, 2]) {
      const res = await publish({ room: "public:floor", event: "e", data: { n } });
      expect(res.status).toBe(202);
      answers.push(await res.json());
    }
    await expect.poll(() => received.length).toBe(2);
    expect(received.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(received[1]!.offset).toBe(received[0]!.offset + 1);
    expect(answers[1]).toEqual({
      id: received[1]!.id,
      offsets: { "public:floor": { offset: received[1]!.offset, epoch: received[1]!.epoch } },
    });
  });

  it("refuses what Relaybase's content checks refuse: too deep, too large", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect((await publish({ room: "public:floor", event: "e", data: deep })).status).toBe(400);
    const tooLarge = "x".repeat(64 * 1024 + 1);
    expect((await publish({ room: "public:floor", event: "e", data: tooLarge })).status).toBe(400);
  });
});

describe("B1 with B1_TOKENS", () => {
  let server: BenchServer;
  beforeAll(async () => {
    server = await startServer("b1", { env: { B1_TOKENS: "3" } });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const connect = (auth: Record<string, string>) =>
    new Promise<string>((resolve) => {
      const client = io(server.info.url, { transports: ["websocket"], auth, reconnection: false });
      client.once("connect", () => {
        client.close();
        resolve("connected");
      });
      client.once("connect_error", (err) => {
        client.close();
        resolve(err.message);
      });
    });

  it("lets in a connection with one of its tokens, and refuses a missing or altered one", async () => {
    const tokens = server.info.tokens!;
    expect(tokens).toHaveLength(3);
    expect(await connect({ token: tokens[2]! })).toBe("connected");
    expect(await connect({})).not.toBe("connected");
    const [head, payload, signature] = tokens[0]!.split(".");
    const altered = `${head}.${payload}.${signature!.startsWith("A") ? "B" : "A"}${signature!.slice(1)}`;
    expect(await connect({ token: altered })).not.toBe("connected");
  });
});

it("refuses an unknown B1_FLOOR instead of measuring plain B1", async () => {
  await expect(startServer("b1", { env: { B1_FLOOR: "everything" } })).rejects.toThrow(/B1_FLOOR must be/);
}, 60_000);
