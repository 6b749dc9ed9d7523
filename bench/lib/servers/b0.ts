/**
 * Baseline B0 (shared/BENCH.md): the physical limit, a raw `ws` server doing the same work
 * as the others with nothing on top. A client sends `{"sub":"<room>"}` and gets
 * `{"ok":true}`; `POST /publish { room, event, data }` builds the frame once
 * (`{ room, event, data, ts }` as JSON) and sends it to every socket of the room, then
 * answers 202. No auth, no framing protocol, no history.
 */
import { createServer } from "node:http";
import { WebSocket, WebSocketServer } from "ws";
import { serveProbe } from "./probe.js";

const rooms = new Map<string, Set<WebSocket>>();

const httpServer = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/publish") {
    res.writeHead(req.url === "/readyz" ? 200 : 404).end();
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
    const frame = JSON.stringify({ room: body.room, event: body.event, data: body.data, ts: Date.now() });
    for (const ws of rooms.get(body.room) ?? []) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    res.writeHead(202, { "content-type": "application/json" }).end("{}");
  });
});

const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
wss.on("connection", (ws) => {
  const joined: string[] = [];
  ws.on("message", (raw) => {
    let m: { sub?: unknown };
    try {
      m = JSON.parse(String(raw));
    } catch {
      return;
    }
    if (typeof m.sub !== "string") return;
    let set = rooms.get(m.sub);
    if (!set) {
      set = new Set();
      rooms.set(m.sub, set);
    }
    set.add(ws);
    joined.push(m.sub);
    ws.send('{"ok":true}');
  });
  ws.on("close", () => {
    for (const r of joined) {
      const set = rooms.get(r);
      set?.delete(ws);
      if (set?.size === 0) rooms.delete(r);
    }
  });
});

httpServer.listen(0, "127.0.0.1", () => {
  const address = httpServer.address();
  const port = typeof address === "object" && address ? address.port : 0;
  serveProbe({ url: `http://127.0.0.1:${port}`, publishUrl: `http://127.0.0.1:${port}/publish` });
});
