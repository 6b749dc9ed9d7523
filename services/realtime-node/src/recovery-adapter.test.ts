import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { io as connect, type Socket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { recoveryAdapter } from "./recovery-adapter.js";

/**
 * The bounded recovery buffer with a real Socket.IO server and client: a client whose
 * transport drops comes back with its id, its rooms and what was broadcast meanwhile,
 * exactly once and in order; past the buffer's size or its window it is not recovered
 * (the SDK then resumes from room history).
 */
describe("recoveryAdapter", () => {
  let io: Server | undefined;
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients) c.close();
    clients.length = 0;
    await io?.close();
    io = undefined;
  });

  async function start(maxPackets: number, clock: { now: number }) {
    const http = createServer();
    io = new Server(http, {
      adapter: recoveryAdapter({ windowMs: 60_000, maxPackets, now: () => clock.now }),
      connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: true },
    });
    io.on("connection", (socket) => {
      if (!socket.recovered) void socket.join("feed");
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = connect(url, { transports: ["websocket"], reconnectionDelay: 20 });
    clients.push(client);
    const got: number[] = [];
    client.on("n", (n: number) => got.push(n));
    await new Promise<void>((r) => client.once("connect", () => r()));
    return { io, client, got };
  }

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(check()).toBe(true);
  };

  /** Drops the client's transport (a network blip), broadcasts while it is away, lets it back. */
  async function blip(server: Server, client: Socket, during: number[], whileAway = () => {}) {
    const id = client.id;
    const back = new Promise<void>((r) => client.once("connect", () => r()));
    // The server sees a transport close (recoverable); the client reconnects by itself.
    for (const socket of await server.fetchSockets())
      (socket as unknown as { conn: { close(): void } }).conn.close();
    await until(() => server.of("/").sockets.size === 0);
    for (const n of during) server.to("feed").emit("n", n);
    whileAway();
    await back;
    return { sameId: client.id === id, recovered: client.recovered };
  }

  it("replays what a dropped client missed, once and in order, with its id and rooms", async () => {
    const clock = { now: 1_000_000 };
    const { io, client, got } = await start(100, clock);
    io.to("feed").emit("n", 0);
    await until(() => got.length === 1);
    const after = await blip(io, client, [1, 2, 3]);
    expect(after).toEqual({ sameId: true, recovered: true });
    await until(() => got.length === 4);
    io.to("feed").emit("n", 4);
    await until(() => got.length === 5);
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it("keeps at most maxPackets broadcasts: a client whose offset fell out is not recovered", async () => {
    const clock = { now: 1_000_000 };
    const { io, client, got } = await start(3, clock);
    io.to("feed").emit("n", 0);
    await until(() => got.length === 1);
    const adapter = io.of("/").adapter as unknown as { keptPackets: number };
    const after = await blip(io, client, [1, 2, 3, 4]);
    expect(after.recovered).toBe(false);
    expect(adapter.keptPackets).toBe(3);
    expect(got).toEqual([0]);
  });

  it("forgets packets older than the window, and sessions too", async () => {
    const clock = { now: 1_000_000 };
    const { io, client, got } = await start(100, clock);
    io.to("feed").emit("n", 0);
    await until(() => got.length === 1);
    clock.now += 61_000;
    // The client's offset (message 0) has expired: not recovered.
    expect((await blip(io, client, [1])).recovered).toBe(false);
    expect((io.of("/").adapter as unknown as { keptPackets: number }).keptPackets).toBe(1);
    io.to("feed").emit("n", 2);
    await until(() => got.length === 2);
    // The offset is fresh, but the session outlived the window while the client was away.
    expect((await blip(io, client, [3], () => (clock.now += 61_000))).recovered).toBe(false);
    expect(got).toEqual([0, 2]);
  });
});
