import type { MessageEnvelope } from "@relaybase/protocol";
import { newPublishableKey, PLANS } from "@relaybase/server-kit";
import { exportJWK, generateSecret, SignJWT, UnsecuredJWT } from "jose";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { connected, emitAck, ISSUER, type NodeFixture, startNode } from "./test-fixtures.js";

let f: NodeFixture;
beforeAll(async () => {
  f = await startNode();
});
afterAll(async () => {
  await f.close();
});

function nextMessage(socket: Socket): Promise<MessageEnvelope> {
  return new Promise((resolve) => socket.once("message", resolve));
}

async function connectWith(
  app: { publishableKeys: string[]; appId: string },
  caps?: Record<string, string[]>,
) {
  const token = caps ? await f.token(app.appId, caps as never, { sub: "user-1" }) : undefined;
  return connected(f.client({ key: app.publishableKeys[0], ...(token ? { token } : {}) }));
}

describe("capabilities", () => {
  it("lets an anonymous connection do only what the app allows anonymously", async () => {
    const app = await f.addApp();
    const socket = await connectWith(app);
    expect(await emitAck(socket, "subscribe", { room: "public:news" })).toMatchObject({
      ok: true,
      offset: 0,
    });
    expect(await emitAck(socket, "subscribe", { room: "private:x" })).toMatchObject({
      ok: false,
      error: { code: "CAPABILITY_DENIED", retry: "never" },
    });
    expect(
      await emitAck(socket, "publish", { room: "public:news", event: "e", data: {}, id: "1" }),
    ).toMatchObject({
      ok: false,
      error: { code: "CAPABILITY_DENIED" },
    });
  });

  it("delivers a token holder's publish with offsets, epoch and sender", async () => {
    const app = await f.addApp();
    const a = await connectWith(app, { "chat:*": ["subscribe", "publish"] });
    const b = await connectWith(app, { "chat:*": ["subscribe"] });
    await emitAck(b, "subscribe", { room: "chat:1" });
    const got = nextMessage(b);
    const ack = await emitAck(a, "publish", { room: "chat:1", event: "say", data: { text: "hi" }, id: "m1" });
    expect(ack).toMatchObject({ ok: true, id: "m1", offset: 1 });
    expect(await got).toMatchObject({
      room: "chat:1",
      event: "say",
      data: { text: "hi" },
      id: "m1",
      offset: 1,
      epoch: ack.epoch,
      from: { connectionId: a.id, userId: "user-1" },
    });
    expect(await emitAck(b, "publish", { room: "chat:1", event: "say", data: {}, id: "m2" })).toMatchObject({
      ok: false,
      error: { code: "CAPABILITY_DENIED" },
    });
  });

  it("refuses client publishes when the app turned them off", async () => {
    const app = await f.addApp({ clientPublish: false });
    const a = await connectWith(app, { "*": ["subscribe", "publish"] });
    expect(await emitAck(a, "publish", { room: "r", event: "e", data: 1, id: "x" })).toMatchObject({
      ok: false,
      error: { code: "CLIENT_PUBLISH_DISABLED" },
    });
  });

  it("stops delivery after unsubscribe", async () => {
    const app = await f.addApp();
    const a = await connectWith(app, { "*": ["subscribe", "publish"] });
    const b = await connectWith(app, { "*": ["subscribe"] });
    await emitAck(b, "subscribe", { room: "r" });
    await emitAck(b, "unsubscribe", { room: "r" });
    const seen: unknown[] = [];
    b.on("message", (m) => seen.push(m));
    // a subscribes too, so its own copy proves the publish went out before we look at b.
    await emitAck(a, "subscribe", { room: "r" });
    const own = nextMessage(a);
    await emitAck(a, "publish", { room: "r", event: "e", data: 1, id: "x" });
    await own;
    await emitAck(b, "subscribe", { room: "other" }); // a round trip on b after the publish
    expect(seen).toEqual([]);
  });
});

describe("isolation between apps", () => {
  it("keeps two apps' rooms of the same name apart", async () => {
    const one = await f.addApp();
    const two = await f.addApp();
    const a = await connectWith(one, { "*": ["subscribe", "publish"] });
    const b = await connectWith(two, { "*": ["subscribe", "publish"] });
    await emitAck(a, "subscribe", { room: "lobby" });
    await emitAck(b, "subscribe", { room: "lobby" });
    const leaked: unknown[] = [];
    a.on("message", (m) => leaked.push(m));
    const own = nextMessage(b);
    const ack = await emitAck(b, "publish", { room: "lobby", event: "e", data: "two", id: "1" });
    expect((await own).data).toBe("two");
    // Offsets are per app and room: app one's room is still empty.
    expect(ack.offset).toBe(1);
    expect(await emitAck(a, "subscribe", { room: "lobby" })).toMatchObject({ offset: 0 });
    expect(leaked).toEqual([]);
  });

  it("refuses a token of app A on app B's key", async () => {
    const one = await f.addApp();
    const two = await f.addApp();
    const token = await f.token(one.appId, { "*": ["subscribe"] });
    await expect(connected(f.client({ key: two.publishableKeys[0], token }))).rejects.toMatchObject({
      code: "TOKEN_APP_MISMATCH",
    });
  });
});

describe("bad credentials", () => {
  it.each([
    ["an unknown key", () => ({ key: newPublishableKey() }), "INVALID_KEY"],
    ["no key", () => ({}), "INVALID_KEY"],
    ["a secret key", () => ({ key: `sk_${"a".repeat(12)}_${"b".repeat(32)}` }), "WRONG_KEY_TYPE"],
  ])("refuses %s", async (_name, auth, code) => {
    await expect(connected(f.client(auth()))).rejects.toMatchObject({ code, retry: "never" });
  });

  it("refuses a revoked publishable key", async () => {
    const app = await f.addApp();
    await f.directory.put({ ...app, publishableKeys: [] });
    await expect(connected(f.client({ key: app.publishableKeys[0] }))).rejects.toMatchObject({
      code: "INVALID_KEY",
    });
  });

  it("refuses expired, tampered, unsigned and HS256 tokens", async () => {
    const app = await f.addApp();
    const key = app.publishableKeys[0];
    const expired = await f.token(app.appId, {}, { iat: Math.floor(Date.now() / 1000) - 7200, ttl: 60 });
    const good = await f.token(app.appId, { "*": ["subscribe"] });
    const [h, p, s] = good.split(".");
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), caps: { "*": ["publish"] } }),
    ).toString("base64url");
    const tampered = `${h}.${widened}.${s}`;
    const claims = { app: app.appId, caps: { "*": ["subscribe"] } };
    const none = new UnsecuredJWT(claims)
      .setIssuer(ISSUER)
      .setAudience("relaybase:realtime")
      .setIssuedAt()
      .setExpirationTime("1h")
      .encode();
    const secret = await generateSecret("HS256", { extractable: true });
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: "test-1" })
      .setIssuer(ISSUER)
      .setAudience("relaybase:realtime")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(secret);
    expect((await exportJWK(secret)).kty).toBe("oct");
    await expect(connected(f.client({ key, token: expired }))).rejects.toMatchObject({
      code: "TOKEN_EXPIRED",
      retry: "reauth",
    });
    for (const token of [tampered, none, hs, "not.a.jwt", 42]) {
      await expect(connected(f.client({ key, token }))).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    }
  });

  it("checks the origin allow-list for browsers", async () => {
    const app = await f.addApp({ allowedOrigins: ["https://good.example"] });
    const key = app.publishableKeys[0];
    const withOrigin = (origin: string) => f.client({ key }, { extraHeaders: { origin } });
    await expect(connected(withOrigin("https://evil.example"))).rejects.toMatchObject({
      code: "ORIGIN_NOT_ALLOWED",
    });
    await expect(connected(withOrigin("https://good.example"))).resolves.toBeTruthy();
  });
});

describe("bad messages", () => {
  it("refuses an oversized message before anyone receives it", async () => {
    const app = await f.addApp({
      limits: { ...PLANS.free, maxMessageBytes: 1024, historySize: 10, historyTtlSeconds: 60 },
    });
    const a = await connectWith(app, { "*": ["subscribe", "publish"] });
    await emitAck(a, "subscribe", { room: "r" });
    const seen: unknown[] = [];
    a.on("message", (m) => seen.push(m));
    const ack = await emitAck(a, "publish", { room: "r", event: "e", data: "x".repeat(2000), id: "big" });
    expect(ack).toMatchObject({ ok: false, error: { code: "MESSAGE_TOO_LARGE" } });
    // Nothing was stored: the room's offset did not move.
    expect(await emitAck(a, "subscribe", { room: "r" })).toMatchObject({ offset: 0 });
    expect(seen).toEqual([]);
  });

  it("refuses invalid room and event names and malformed payloads with codes", async () => {
    const app = await f.addApp();
    const a = await connectWith(app, { "*": ["subscribe", "publish"] });
    expect(await emitAck(a, "subscribe", { room: "bad room!" })).toMatchObject({
      error: { code: "INVALID_ROOM_NAME" },
    });
    expect(await emitAck(a, "subscribe", { room: "x".repeat(201) })).toMatchObject({
      error: { code: "INVALID_ROOM_NAME" },
    });
    expect(await emitAck(a, "publish", { room: "r", event: "", data: 1, id: "1" })).toMatchObject({
      error: { code: "INVALID_EVENT_NAME" },
    });
    expect(await emitAck(a, "publish", "just a string")).toMatchObject({ error: { code: "BAD_REQUEST" } });
    expect(await emitAck(a, "subscribe", { room: "r", since: { offset: -1 } })).toMatchObject({
      error: { code: "BAD_REQUEST" },
    });
  });

  it("survives a flood of malformed Socket.IO packets", async () => {
    const app = await f.addApp();
    const ws = new WebSocket(`${f.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
    await new Promise((r) => ws.once("open", r));
    const garbage = [
      "42[",
      "4x",
      "9",
      '40{"key":',
      "42[1,2,3]",
      "\u0000\u0001",
      "4",
      "451-[",
      "2probe",
      "{}",
    ];
    for (let i = 0; i < 2000; i++) ws.send(garbage[i % garbage.length]!);
    await new Promise((r) => ws.once("close", r));
    // The node still serves everyone else.
    const socket = await connectWith(app, { "*": ["subscribe"] });
    expect(await emitAck(socket, "subscribe", { room: "r" })).toMatchObject({ ok: true });
  });

  it("drops a duplicate publish id and returns the first offset", async () => {
    const app = await f.addApp();
    const a = await connectWith(app, { "*": ["subscribe", "publish"] });
    const first = await emitAck(a, "publish", { room: "r", event: "e", data: 1, id: "same" });
    const again = await emitAck(a, "publish", { room: "r", event: "e", data: 1, id: "same" });
    expect(again).toEqual(first);
    expect(await emitAck(a, "subscribe", { room: "r" })).toMatchObject({ offset: 1 });
  });
});

describe("history replay (subscribe with since)", () => {
  it("replays what was missed, reports a gap when history no longer reaches back", async () => {
    const app = await f.addApp({
      limits: { ...PLANS.free, maxMessageBytes: 1024, historySize: 5, historyTtlSeconds: 60 },
    });
    const pub = await connectWith(app, { "*": ["subscribe", "publish"] });
    const base = await emitAck(pub, "subscribe", { room: "r" });
    for (let i = 1; i <= 3; i++)
      await emitAck(pub, "publish", { room: "r", event: "n", data: i, id: `m${i}` });

    const since = { offset: base.offset, epoch: base.epoch };
    const late = await connectWith(app, { "*": ["subscribe"] });
    const replay = await emitAck(late, "subscribe", { room: "r", since });
    expect(replay).toMatchObject({ ok: true, recovered: true, offset: 3 });
    expect(replay.messages.map((m: MessageEnvelope) => m.data)).toEqual([1, 2, 3]);
    expect(replay.messages[0]).toMatchObject({ room: "r", event: "n", epoch: base.epoch, offset: 1 });

    for (let i = 4; i <= 10; i++)
      await emitAck(pub, "publish", { room: "r", event: "n", data: i, id: `m${i}` });
    const trimmed = await emitAck(late, "subscribe", { room: "r", since: { offset: 3, epoch: base.epoch } });
    expect(trimmed).toMatchObject({ ok: true, recovered: false, offset: 10, messages: [] });
    const otherEpoch = await emitAck(late, "subscribe", {
      room: "r",
      since: { offset: 9, epoch: "elsewhere" },
    });
    expect(otherEpoch).toMatchObject({ ok: true, recovered: false, epoch: base.epoch });
    const fromFive = await emitAck(late, "subscribe", { room: "r", since: { offset: 5, epoch: base.epoch } });
    expect(fromFive.recovered).toBe(true);
    expect(fromFive.messages.map((m: MessageEnvelope) => m.data)).toEqual([6, 7, 8, 9, 10]);
  });
});

describe("token lifetime on a live socket", () => {
  it("disconnects when the token expires, unless a fresh one arrives in time", async () => {
    const app = await f.addApp();
    const key = app.publishableKeys[0];
    const shortLived = await f.token(app.appId, { "*": ["subscribe"] }, { sub: "u", ttl: 2 });
    const refreshed = await connected(f.client({ key, token: shortLived }));
    const expiring = await connected(f.client({ key, token: shortLived }));

    const fresh = await f.token(app.appId, { "*": ["subscribe"] }, { sub: "u", ttl: 600 });
    const ack = await emitAck(refreshed, "auth", { token: fresh });
    expect(ack).toMatchObject({ ok: true });
    const otherUser = await f.token(app.appId, {}, { sub: "someone-else" });
    expect(await emitAck(refreshed, "auth", { token: otherUser })).toMatchObject({
      error: { code: "TOKEN_INVALID" },
    });

    const notice = new Promise((r) => expiring.once("notice", r));
    const closed = new Promise((r) => expiring.once("disconnect", r));
    expect(await notice).toMatchObject({ code: "TOKEN_EXPIRED", retry: "reauth" });
    expect(await closed).toBe("io server disconnect");
    expect(refreshed.connected).toBe(true);
  });
});
