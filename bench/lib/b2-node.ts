/**
 * Baseline B2 (shared/BENCH.md): one bare Socket.IO 4.8 server of a two-node cluster,
 * WebSocket only, the first HTTP request discarded, in-memory rooms, and
 * `@socket.io/redis-streams-adapter` (one stream) on the same Redis as Relaybase, under
 * its own stream name so neither system reads the other's traffic. No auth, no tenancy,
 * no history, no limits, no connection state recovery.
 *
 * For a like-for-like "REST → delivery" path it has a minimal node:http endpoint:
 * `POST /publish { room, event, data }` → `io.to(room).emit("message", { room, event, data, ts })`
 * → 202. Clients `subscribe` `{ room }` with an ack, as on Relaybase.
 *
 * Environment: PORT, REDIS_URL, STREAM_NAME (default "bench-b2").
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? 0);
const streamName = process.env.STREAM_NAME ?? "bench-b2";
const redis = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
redis.on("error", () => {});
await redis.connect();

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
  adapter: createAdapter(redis, { streamCount: 1, streamName, channelPrefix: streamName }),
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
  console.error(`b2 node listening on ${typeof address === "object" && address ? address.port : port}`);
});

const stop = () => {
  io.close();
  redis.quit().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
