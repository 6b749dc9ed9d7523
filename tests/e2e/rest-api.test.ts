import { createServerClient } from "@relaybase/sdk/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { poll, until } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

let p: TestPlatform;
let dev: Awaited<ReturnType<TestPlatform["developer"]>>;
beforeAll(async () => {
  p = await startTestPlatform();
  dev = await p.developer();
});
afterAll(() => p.close());

async function post(path: string, body: unknown, key: string | null = dev.secret) {
  const res = await fetch(`${p.urls.rest}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
const publishPath = () => `/v1/apps/${dev.appId}/publish`;

describe("REST publish API", () => {
  it("publishes to several rooms and answers 202 with each room's offset", async () => {
    const client = p.client({ key: dev.publishableKey });
    const got: unknown[] = [];
    for (const name of ["public:a", "public:b"]) {
      const room = client.room(name);
      room.on("*", (data, meta) => got.push([meta.room, data]));
      await room.subscribe();
    }
    const res = await post(publishPath(), { rooms: ["public:a", "public:b"], event: "e", data: { n: 1 } });
    expect(res.status).toBe(202);
    expect(res.body.offsets).toMatchObject({ "public:a": { offset: 1 }, "public:b": { offset: 1 } });
    await poll("both deliveries", () => got.length).toBe(2);
    expect(got).toEqual(
      expect.arrayContaining([
        ["public:a", { n: 1 }],
        ["public:b", { n: 1 }],
      ]),
    );
  });

  it("stores and delivers a retried publish (same id) once", async () => {
    const first = await dev.server.publish({ room: "public:idem", event: "e", data: 1, id: "order-42" });
    const again = await dev.server.publish({ room: "public:idem", event: "e", data: 1, id: "order-42" });
    expect(again).toEqual(first);
    const next = await dev.server.publish({ room: "public:idem", event: "e", data: 2 });
    expect(next.offsets["public:idem"]!.offset).toBe(first.offsets["public:idem"]!.offset + 1);
  });

  it("publishes a batch in order", async () => {
    const client = p.client({ key: dev.publishableKey });
    const room = client.room("public:batch");
    const got: unknown[] = [];
    room.on("*", (data) => got.push(data));
    await room.subscribe();
    const { results } = await dev.server.batch([
      { room: "public:batch", event: "e", data: 1 },
      { room: "public:batch", event: "e", data: 2 },
      { rooms: ["public:batch", "public:other"], event: "e", data: 3 },
    ]);
    expect(results.map((r) => r.offsets["public:batch"]!.offset)).toEqual([1, 2, 3]);
    await poll("the batch", () => got.length).toBe(3);
    expect(got).toEqual([1, 2, 3]);
  });

  it("skips the connection named in exceptConnectionId", async () => {
    const skipped = p.client({ key: dev.publishableKey });
    const other = p.client({ key: dev.publishableKey });
    const seen = { skipped: [] as unknown[], other: [] as unknown[] };
    for (const [name, client] of [
      ["skipped", skipped],
      ["other", other],
    ] as const) {
      const room = client.room("public:except");
      room.on("*", (data) => seen[name].push(data));
      await room.subscribe();
    }
    await dev.server.publish({
      room: "public:except",
      event: "e",
      data: "not you",
      exceptConnectionId: skipped.connectionId!,
    });
    await dev.server.publish({ room: "public:except", event: "e", data: "everyone" });
    // A last message as the marker: a room's messages arrive in order, and had the skip
    // marker not filled offset 1 for the skipped client, the messages after it would wait
    // there for the SDK to refetch, so whatever a refetch brings arrives before this one.
    await dev.server.publish({ room: "public:except", event: "e", data: "last" });
    await until(() => seen.other.at(-1) === "last" && seen.skipped.at(-1) === "last", "the last message");
    expect(seen).toEqual({ skipped: ["everyone", "last"], other: ["not you", "everyone", "last"] });
  });

  it("counts the app's connections", async () => {
    const other = await p.developer();
    const stats = async () =>
      (await fetch(`${p.urls.rest}/v1/apps/${other.appId}/stats`, {
        headers: { authorization: `Bearer ${other.secret}` },
      }).then((r) => r.json())) as { connections: number };
    expect(await stats()).toEqual({ connections: 0 });
    const clients = [p.client({ key: other.publishableKey }), p.client({ key: other.publishableKey })];
    await until(() => clients.every((c) => c.state === "connected"), "both clients");
    expect(await stats()).toEqual({ connections: 2 });
    clients[0]!.close();
    await poll("the count to drop", stats).toEqual({ connections: 1 });
  });

  it("serves its OpenAPI document", async () => {
    const res = await fetch(`${p.urls.rest}/openapi.json`);
    const doc = await res.json();
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual([
      "/v1/apps/{appId}/publish",
      "/v1/apps/{appId}/batch",
      "/v1/apps/{appId}/rooms",
      "/v1/apps/{appId}/rooms/{room}",
      "/v1/apps/{appId}/rooms/{room}/presence",
      "/v1/apps/{appId}/rooms/{room}/history",
      "/v1/apps/{appId}/users/{userId}/publish",
      "/v1/apps/{appId}/users/{userId}/disconnect",
      "/v1/apps/{appId}/stats",
      "/healthz",
      "/readyz",
    ]);
  });
});

describe("REST bad input: each with its documented code, nothing published", () => {
  const ok = { room: "public:x", event: "e", data: 1 };

  it.each([
    ["no key", () => post(publishPath(), ok, null), 401, "INVALID_KEY"],
    [
      "an unknown key",
      () => post(publishPath(), ok, `sk_${"x".repeat(12)}_${"y".repeat(32)}`),
      401,
      "INVALID_KEY",
    ],
    [
      "a wrong secret for a real key id",
      () => post(publishPath(), ok, `${dev.secret.slice(0, -4)}AAAA`),
      401,
      "INVALID_KEY",
    ],
    ["a publishable key", () => post(publishPath(), ok, dev.publishableKey), 401, "WRONG_KEY_TYPE"],
    ["an unknown app", () => post("/v1/apps/app_doesnotexist1234/publish", ok), 404, "APP_NOT_FOUND"],
    ["malformed JSON", () => post(publishPath(), '{"room": "a",'), 400, "BAD_REQUEST"],
    ["a missing event", () => post(publishPath(), { room: "public:x", data: 1 }), 400, "BAD_REQUEST"],
    ["both room and rooms", () => post(publishPath(), { ...ok, rooms: ["a"] }), 400, "BAD_REQUEST"],
    ["an unknown field", () => post(publishPath(), { ...ok, chanel: "typo" }), 400, "BAD_REQUEST"],
    [
      "an invalid room name",
      () => post(publishPath(), { ...ok, room: "no spaces" }),
      400,
      "INVALID_ROOM_NAME",
    ],
    [
      "101 rooms",
      () =>
        post(publishPath(), {
          ...ok,
          room: undefined,
          rooms: Array.from({ length: 101 }, (_, i) => `r${i}`),
        }),
      400,
      "TOO_MANY_ROOMS",
    ],
    [
      "data over 64 KiB",
      () => post(publishPath(), { ...ok, data: "x".repeat(70_000) }),
      413,
      "MESSAGE_TOO_LARGE",
    ],
    [
      "a body over 1 MiB",
      () => post(publishPath(), { ...ok, data: "x".repeat(1_100_000) }),
      413,
      "MESSAGE_TOO_LARGE",
    ],
    [
      "a batch with one bad message",
      () => post(`/v1/apps/${dev.appId}/batch`, { messages: [ok, { ...ok, room: "bad room" }] }),
      400,
      "INVALID_ROOM_NAME",
    ],
  ])("%s", async (_name, send, status, code) => {
    const before = await dev.server.publish({ room: "public:x", event: "probe", data: 0 });
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: { code, message: expect.any(String), retry: "never" } });
    // Nothing was stored: the next publish takes the very next offset.
    const after = await dev.server.publish({ room: "public:x", event: "probe", data: 0 });
    expect(after.offsets["public:x"]!.offset).toBe(before.offsets["public:x"]!.offset + 1);
  });

  it("the server helper reports REST errors with code, status and retry", async () => {
    const wrong = createServerClient({
      appId: dev.appId,
      secretKey: `sk_${"x".repeat(12)}_${"y".repeat(32)}`,
      restUrl: p.urls.rest,
      controlPlaneUrl: p.urls.controlPlane,
    });
    await expect(wrong.publish(ok)).rejects.toMatchObject({
      code: "INVALID_KEY",
      status: 401,
      retry: "never",
    });
    await expect(wrong.createToken({ capabilities: {} })).rejects.toMatchObject({ code: "INVALID_KEY" });
    await expect(dev.server.createToken({ capabilities: {}, ttl: 90_000 })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      status: 400,
    });
  });

  it("the server helper reports an unreachable API as UNAVAILABLE", async () => {
    const nowhere = createServerClient({
      appId: dev.appId,
      secretKey: dev.secret,
      restUrl: "http://127.0.0.1:9",
      controlPlaneUrl: "http://127.0.0.1:9",
    });
    await expect(nowhere.publish(ok)).rejects.toMatchObject({
      code: "UNAVAILABLE",
      status: 0,
      retry: "backoff",
    });
  });
});

describe("malformed Socket.IO traffic", () => {
  it("a flood of malformed packets gets the sender disconnected and nobody else hurt", async () => {
    const client = p.client({ key: dev.publishableKey });
    const room = client.room("public:calm");
    const got: unknown[] = [];
    room.on("*", (d) => got.push(d));
    await room.subscribe();

    const url = `${p.urls.realtime.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`;
    const closes = [];
    for (let c = 0; c < 5; c++) {
      const ws = new WebSocket(url);
      await new Promise((r) => ws.once("open", r));
      ws.send(`40${JSON.stringify({ key: dev.publishableKey })}`);
      for (let i = 0; i < 500; i++)
        ws.send(["42[", "4{", '42["subscribe",', '451-[{"_placeholder":true,"num":9}]', "\u0000"][i % 5]!);
      closes.push(new Promise((r) => ws.once("close", r)));
    }
    await Promise.all(closes);
    await dev.server.publish({ room: "public:calm", event: "e", data: "still here" });
    await poll("delivery after the flood", () => got.length).toBe(1);
    expect(client.state).toBe("connected");
  });
});
