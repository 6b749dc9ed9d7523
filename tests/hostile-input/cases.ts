/**
 * Hostile and careless input from outside, the way a real client sends it (plain
 * socket.io-client following docs/protocol.md, plain HTTP for REST), run against the
 * embedded platform and against a two-node cluster. Each case checks what a user would
 * see: the refusal's code, and that nothing reached anyone who should not get it.
 */
import type { MessageEnvelope, SkipMarker } from "@relaybase/protocol";
import type { ServerClient } from "@relaybase/sdk/server";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { handshake, ack as rawAck, rawSocket, until } from "../fixtures.js";

export interface Target {
  /** Two realtime URLs (the same one twice when embedded; node A and node B in a cluster). */
  realtime: [string, string];
  rest: string;
  developer(): Promise<{ appId: string; publishableKey: string; secret: string; server: ServerClient }>;
  /** Every service still answers its health probe (no process died). */
  alive(): Promise<boolean>;
  close(): Promise<void>;
}

type Developer = Awaited<ReturnType<Target["developer"]>>;

/** `[[[…]]]` nested `depth` levels deep, as JSON text (too deep for JSON.stringify to write). */
export function nestedJson(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

/**
 * Speaks Engine.IO/Socket.IO over a bare WebSocket (docs/protocol.md), so a payload can
 * be sent as the text it is: socket.io-client cannot even encode what an attacker sends.
 * Connects with `auth`, sends one event whose payload is `payloadJson`, resolves with the ack.
 */
export async function rawEmit(url: string, auth: object, event: string, payloadJson: string): Promise<any> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  try {
    return await new Promise((resolve, reject) => {
      ws.on("error", reject);
      ws.on("message", (raw) => {
        const frame = raw.toString();
        if (frame.startsWith("0")) ws.send(`40${JSON.stringify(auth)}`);
        else if (frame === "2") ws.send("3");
        else if (frame.startsWith("44")) reject(new Error(`connect refused: ${frame}`));
        else if (frame.startsWith("40")) ws.send(`421["${event}",${payloadJson}]`);
        else if (frame.startsWith("431")) resolve(JSON.parse(frame.slice(3))[0]);
      });
    });
  } finally {
    ws.close();
  }
}

/** A socket that records every message and skip marker it gets. */
interface Recorder {
  socket: Socket;
  messages: MessageEnvelope[];
  skips: SkipMarker[];
}

export function describeHostileInput(name: string, start: () => Promise<Target>): void {
  describe(name, () => {
    let t: Target;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      t = await start();
    }, 120_000);
    afterAll(async () => {
      for (const s of sockets) s.disconnect();
      await t?.close();
    }, 30_000);

    async function connect(dev: Developer, node: 0 | 1, userId?: string): Promise<Recorder> {
      const token = userId
        ? (await dev.server.createToken({ userId, capabilities: { "*": ["subscribe", "publish"] } })).token
        : undefined;
      const socket = rawSocket(t.realtime[node], dev.publishableKey, token);
      sockets.push(socket);
      const recorder: Recorder = { socket, messages: [], skips: [] };
      socket.on("message", (m: MessageEnvelope) => recorder.messages.push(m));
      socket.on("skip", (m: SkipMarker) => recorder.skips.push(m));
      expect(await handshake(socket)).toBe("connected");
      return recorder;
    }

    // biome-ignore lint/suspicious/noExplicitAny: acks of hostile input are read loosely.
    const ack = (r: Recorder, event: string, payload: unknown) => rawAck<any>(r.socket, event, payload);

    /** A REST publish; `body` as an object, or as JSON text. */
    async function rest(dev: Developer, body: unknown) {
      const res = await fetch(`${t.rest}/v1/apps/${dev.appId}/publish`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${dev.secret}` },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    }

    /** Publishes a marker over REST and waits for it: whatever was sent before it has arrived by then. */
    async function barrier(dev: Developer, room: string, ...recorders: Recorder[]) {
      const marker = `barrier-${Math.random()}`;
      expect((await rest(dev, { room, event: "barrier", data: marker })).status).toBe(202);
      await until(() => recorders.every((r) => r.messages.some((m) => m.data === marker)), "the marker");
    }

    describe("deeply nested data (defect: one publish crashed the node)", () => {
      it("refuses it on a socket with DATA_TOO_DEEP, and the node keeps serving", async () => {
        const dev = await t.developer();
        const subscriber = await connect(dev, 1);
        expect(await ack(subscriber, "subscribe", { room: "public:deep" })).toMatchObject({ ok: true });
        const { token } = await dev.server.createToken({
          userId: "mallory",
          capabilities: { "*": ["subscribe", "publish"] },
        });
        const auth = { key: dev.publishableKey, token };
        for (const depth of [4_110, 20_000, 65]) {
          const payload = `{"room":"public:deep","event":"e","id":"deep-${depth}","data":${nestedJson(depth)}}`;
          const res = await rawEmit(t.realtime[0], auth, "publish", payload);
          expect(res, `depth ${depth}`).toMatchObject({
            ok: false,
            error: { code: "DATA_TOO_DEEP", retry: "never" },
          });
        }
        const publisher = await connect(dev, 0, "alice");
        // The deepest data allowed still goes through, to a subscriber on the other node.
        const data = JSON.parse(nestedJson(64));
        const ok = await ack(publisher, "publish", { room: "public:deep", event: "e", data, id: "d64" });
        expect(ok).toMatchObject({ ok: true, offset: 1 });
        await expect.poll(() => subscriber.messages.map((m) => m.id)).toEqual(["d64"]);
        expect(await t.alive()).toBe(true);
      });

      it("refuses it as presence member data with DATA_TOO_DEEP, and the node keeps serving", async () => {
        const dev = await t.developer();
        const { token } = await dev.server.createToken({
          userId: "mallory",
          capabilities: { "*": ["presence"] },
        });
        const auth = { key: dev.publishableKey, token };
        for (const depth of [20_000, 65]) {
          const payload = `{"room":"public:deep","data":${nestedJson(depth)}}`;
          const res = await rawEmit(t.realtime[0], auth, "presence.enter", payload);
          expect(res, `depth ${depth}`).toMatchObject({
            ok: false,
            error: { code: "DATA_TOO_DEEP", retry: "never" },
          });
        }
        expect(
          await rawEmit(t.realtime[0], auth, "presence.enter", '{"room":"public:deep","data":[[1]]}'),
        ).toEqual({
          ok: true,
        });
        expect(await t.alive()).toBe(true);
      });

      it("refuses it over REST with 400 DATA_TOO_DEEP before storing, so replay is not poisoned", async () => {
        const dev = await t.developer();
        for (const depth of [4_110, 5_000, 20_000]) {
          const res = await rest(dev, `{"room":"public:deep-rest","event":"e","data":${nestedJson(depth)}}`);
          expect(res, `depth ${depth}`).toMatchObject({
            status: 400,
            body: { error: { code: "DATA_TOO_DEEP" } },
          });
        }
        const fine = await rest(dev, { room: "public:deep-rest", event: "e", data: { n: 1 } });
        expect(fine.status).toBe(202);
        const { epoch } = fine.body.offsets["public:deep-rest"];
        // Nothing was stored by the refused ones: the good message took offset 1, and a
        // replay from the start works.
        expect(fine.body.offsets["public:deep-rest"].offset).toBe(1);
        const late = await connect(dev, 1);
        const replay = await ack(late, "subscribe", {
          room: "public:deep-rest",
          since: { offset: 0, epoch },
        });
        expect(replay).toMatchObject({ ok: true, recovered: true, offset: 1 });
        expect(replay.messages.map((m: MessageEnvelope) => m.data)).toEqual([{ n: 1 }]);
        expect(await t.alive()).toBe(true);
      });
    });

    describe("exceptConnectionId (defect: it reached another tenant's sockets)", () => {
      it("refuses what is not a connection id, and another app's connection id reaches no one", async () => {
        const victim = await t.developer();
        const attacker = await t.developer();
        const b = await connect(victim, 0);
        const b2 = await connect(victim, 1);
        for (const r of [b, b2])
          expect(await ack(r, "subscribe", { room: "public:chat" })).toMatchObject({ ok: true });

        for (const except of [`a:${victim.appId}:public:chat`, `c:${victim.appId}:${b.socket.id}`, "x", ""]) {
          const res = await rest(attacker, {
            room: "public:chat",
            event: "e",
            data: 1,
            exceptConnectionId: except,
          });
          expect(res, except).toMatchObject({
            status: 400,
            body: { error: { code: "INVALID_CONNECTION_ID" } },
          });
        }
        // A real connection id of the victim's app, used by the attacker in its own room.
        const res = await rest(attacker, {
          room: "public:chat",
          event: "e",
          data: 2,
          exceptConnectionId: b.socket.id,
        });
        expect(res.status).toBe(202);

        await barrier(victim, "public:chat", b, b2);
        expect(b.skips).toEqual([]);
        expect(b2.skips).toEqual([]);
        expect([...b.messages, ...b2.messages].every((m) => m.event === "barrier")).toBe(true);
      });

      it("still excludes the publishing app's own connection, which gets a skip marker", async () => {
        const dev = await t.developer();
        const excluded = await connect(dev, 0);
        const other = await connect(dev, 1);
        for (const r of [excluded, other]) {
          expect(await ack(r, "subscribe", { room: "public:own" })).toMatchObject({ ok: true });
        }
        const res = await rest(dev, {
          room: "public:own",
          event: "e",
          data: 1,
          exceptConnectionId: excluded.socket.id,
        });
        expect(res.status).toBe(202);
        await expect.poll(() => other.messages.map((m) => m.data)).toEqual([1]);
        await expect.poll(() => excluded.skips.map((s) => s.offset)).toEqual([1]);
        await barrier(dev, "public:own", excluded, other);
        expect(excluded.messages.map((m) => m.event)).toEqual(["barrier"]);
      });
    });

    describe("a reused message id (defect: the retry's body was delivered)", () => {
      it("refuses a reused id with another body with IDEMPOTENCY_CONFLICT, over REST and on a socket", async () => {
        const dev = await t.developer();
        const subscriber = await connect(dev, 1);
        expect(await ack(subscriber, "subscribe", { room: "public:idem" })).toMatchObject({ ok: true });
        const first = await rest(dev, { room: "public:idem", event: "e", data: "A", id: "X" });
        expect(first.status).toBe(202);
        const conflict = await rest(dev, { room: "public:idem", event: "other", data: "B", id: "X" });
        expect(conflict).toMatchObject({ status: 409, body: { error: { code: "IDEMPOTENCY_CONFLICT" } } });

        const publisher = await connect(dev, 0, "alice");
        const viaSocket = await ack(publisher, "publish", {
          room: "public:idem",
          event: "e",
          data: "C",
          id: "X",
        });
        expect(viaSocket).toMatchObject({
          ok: false,
          error: { code: "IDEMPOTENCY_CONFLICT", retry: "never" },
        });

        // The same body again is a retry: the same offset, and what is fanned out is what was stored.
        const retry = await rest(dev, { room: "public:idem", event: "e", data: "A", id: "X" });
        expect(retry.status).toBe(202);
        expect(retry.body.offsets).toEqual(first.body.offsets);

        await barrier(dev, "public:idem", subscriber);
        const atOne = subscriber.messages.filter((m) => m.offset === 1);
        expect(atOne.length).toBeGreaterThanOrEqual(1);
        for (const m of atOne) expect(m).toMatchObject({ event: "e", data: "A", id: "X" });
      });
    });
  });
}
