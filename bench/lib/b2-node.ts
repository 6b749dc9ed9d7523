/**
 * Baselines B1 and B2 (shared/BENCH.md). Without REDIS_URL this is B1: one bare Socket.IO
 * 4.8 server, in-memory adapter. With it, B2: one bare Socket.IO 4.8 server of a two-node cluster,
 * WebSocket only, the first HTTP request discarded, in-memory rooms, and
 * `@socket.io/redis-streams-adapter` (one stream) on the same Redis as Relaybase, under
 * its own stream name so neither system reads the other's traffic. No auth, no tenancy,
 * no history, no limits, no connection state recovery.
 *
 * For a like-for-like "REST → delivery" path it has a minimal node:http endpoint:
 * `POST /publish { room, event, data }` → `io.to(room).emit("message", { room, event, data, ts })`
 * → 202. Clients `subscribe` `{ room }` with an ack, as on Relaybase.
 *
 * Environment: PORT, REDIS_URL (unset: B1), STREAM_NAME (default "bench-b2"). Started with
 * an IPC channel (bench/lib/servers.ts), it answers the memory probe (servers/probe.ts).
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import { serveProbe } from "./servers/probe.js";

const port = Number(process.env.PORT ?? 0);
const streamName = process.env.STREAM_NAME ?? "bench-b2";
const redis = process.env.REDIS_URL ? createClient({ url: process.env.REDIS_URL }) : undefined;
redis?.on("error", () => {});
await redis?.connect();

const httpServer = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/readyz") {
    res.writeHead(200).end("ok");
    return;
  }
  if (req.method !== "POST" || req.url !== "/publish") {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let body: { room?: unknown; event?: unknown; data?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (typeof body.room !== "string" || typeof body.event !== "string") {
      res.writeHead(400).end();
      return;
    }
    io.to(body.room).emit("message", { room: body.room, event: body.event, data: body.data, ts: Date.now() });
    res.writeHead(202, { "content-type": "application/json" }).end("{}");
  });
});

const io = new Server(httpServer, {
  transports: ["websocket"],
  ...(redis
    ? { adapter: createAdapter(redis, { streamCount: 1, streamName, channelPrefix: streamName }) }
    : {}),
});
io.engine.on("connection", (raw: { request: unknown }) => {
  raw.request = null;
});
io.on("connection", (socket) => {
  socket.on("subscribe", (payload: { room?: unknown }, ack?: (r: unknown) => void) => {
    if (typeof payload?.room !== "string") return ack?.({ ok: false });
    socket.join(payload.room);
    ack?.({ ok: true });
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  const address = httpServer.address();
  const listeningPort = typeof address === "object" && address ? address.port : port;
  console.error(`b${redis ? 2 : 1} node listening on ${listeningPort}`);
  const url = `http://127.0.0.1:${listeningPort}`;
  if (process.send) serveProbe({ url, publishUrl: `${url}/publish` }, async () => void io.close());
});

const stop = () => {
  io.close();
  (redis?.quit() ?? Promise.resolve()).finally(() => process.exit(0));
};
if (!process.send) process.on("SIGTERM", stop);
process.on("SIGINT", stop);
