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
 * B1_FLOOR (B1 only; bench/rest-floor.ts) adds, cumulatively, what Relaybase must do for
 * every publish whatever else it cuts, to measure how much of the REST target that leaves:
 * - `recovery`: connection state recovery, on Relaybase's bounded buffer (recovery-adapter.ts);
 * - `history`: a stored, positioned entry per message (server-kit's MemoryRoomHistory, with
 *   a message id), the envelope carrying its offset and epoch, and Relaybase's 202 body,
 *   sent once the entry is stored;
 * - `checks`: the content checks of every publish (event name, depth, size: Publisher.validate).
 *
 * B1_TOKENS=N (B1 only; bench/handshake-floor.ts): N Ed25519 tokens signed at start (as the
 * control plane signs them) are handed out in the probe's info, and every connection's
 * `auth.token` is checked with Relaybase's `verifyToken` before it is let in.
 *
 * Environment: PORT, REDIS_URL (unset: B1), STREAM_NAME (default "bench-b2"), B1_FLOOR,
 * B1_TOKENS. Started with an IPC channel (bench/lib/servers.ts), it answers the memory
 * probe (servers/probe.ts).
 */
import { createServer, type ServerResponse } from "node:http";
import {
  type AppRuntime,
  MemoryRoomHistory,
  newMessageId,
  Publisher,
  TOKEN_AUDIENCE,
  verifyToken,
} from "@relaybase/server-kit";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { createClient } from "redis";
import { Server } from "socket.io";
import { recoveryAdapter } from "../../services/realtime-node/src/recovery-adapter.js";
import { serveProbe } from "./servers/probe.js";

const FLOORS = ["", "recovery", "history", "checks"];
const floor = FLOORS.indexOf(process.env.B1_FLOOR ?? "");
if (floor < 0) throw new Error(`B1_FLOOR must be one of ${FLOORS.join(", ")}`);
// Read once: the publish route is the path being measured.
const withRecovery = floor >= FLOORS.indexOf("recovery");
const withHistory = floor >= FLOORS.indexOf("history");
const withChecks = floor >= FLOORS.indexOf("checks");
const tokenCount = Number(process.env.B1_TOKENS ?? 0);
if ((floor > 0 || tokenCount > 0) && process.env.REDIS_URL) {
  throw new Error("B1_FLOOR and B1_TOKENS are for B1 (no REDIS_URL)");
}
/** Relaybase's defaults: a 2-minute recovery window, a free plan's history and message size. */
const RECOVERY_MS = 120_000;
const history = new MemoryRoomHistory();
const retention = { maxEntries: 100, ttlMs: 300_000 };
const app = { appId: "app_floor", limits: { maxMessageBytes: 64 * 1024 } } as AppRuntime;
const ISSUER = "b1-floor";
const tokenCheck = tokenCount > 0 ? await mintTokens(tokenCount) : undefined;

/** B1_TOKENS: this process's own key pair, and `count` tokens signed with it. */
async function mintTokens(count: number) {
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const kid = "b1-floor";
  const keys = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "EdDSA" }] });
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const claims = { app: app.appId, caps: { "*": ["subscribe"] } };
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid })
      .setIssuer(ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setSubject(`user-${i}`)
      .setIssuedAt()
      .setExpirationTime("1h")
      .setJti(`b1-${i}`);
    tokens.push(await jwt.sign(privateKey));
  }
  return { keys, tokens };
}

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
    if (!withHistory) {
      io.to(body.room).emit("message", {
        room: body.room,
        event: body.event,
        data: body.data,
        ts: Date.now(),
      });
      res.writeHead(202, { "content-type": "application/json" }).end("{}");
      return;
    }
    publishStored(body.room, body.event, body.data, res).catch(() => res.writeHead(500).end());
  });
});

/** B1_FLOOR=history and above: store, then emit the positioned envelope, then answer 202. */
async function publishStored(room: string, event: string, data: unknown, res: ServerResponse) {
  if (withChecks) {
    try {
      Publisher.validate(app, room, event, data);
    } catch {
      res.writeHead(400).end();
      return;
    }
  }
  const message = { id: newMessageId(), event, data, ts: Date.now() };
  const { offset, epoch } = await history.append(room, message, retention);
  io.to(room).emit("message", { room, ...message, offset, epoch });
  res
    .writeHead(202, { "content-type": "application/json" })
    .end(JSON.stringify({ id: message.id, offsets: { [room]: { offset, epoch } } }));
}

const io = new Server(httpServer, {
  transports: ["websocket"],
  ...(withRecovery
    ? {
        adapter: recoveryAdapter({ windowMs: RECOVERY_MS, maxPackets: 10_000 }),
        connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_MS, skipMiddlewares: false },
      }
    : {}),
  ...(redis
    ? { adapter: createAdapter(redis, { streamCount: 1, streamName, channelPrefix: streamName }) }
    : {}),
});
if (tokenCheck) {
  io.use((socket, next) => {
    const token = String(socket.handshake.auth?.token ?? "");
    verifyToken(token, tokenCheck.keys, ISSUER).then(
      () => next(),
      (err: Error) => next(err),
    );
  });
}
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
  const info = { url, publishUrl: `${url}/publish`, ...(tokenCheck ? { tokens: tokenCheck.tokens } : {}) };
  if (process.send) serveProbe(info, async () => void io.close());
});

const stop = () => {
  io.close();
  (redis?.quit() ?? Promise.resolve()).finally(() => process.exit(0));
};
if (!process.send) process.on("SIGTERM", stop);
process.on("SIGINT", stop);
