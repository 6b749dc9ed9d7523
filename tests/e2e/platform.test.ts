import type { MessageMeta } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll, until } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
});
afterAll(async () => {
  await p.close();
});

type Chat = { greeting: { text: string }; say: { text: string } };

describe("the whole platform, as a developer uses it", () => {
  it("signup → app → key → token → SDK subscribe → REST publish → receive", async () => {
    const dev = await p.developer();
    const { token } = await dev.server.createToken({
      userId: "alice",
      capabilities: { "chat:*": ["subscribe", "publish"] },
      ttl: 600,
    });
    const client = p.client<Chat>({ key: dev.publishableKey, getToken: async () => token });
    const room = client.room("chat:lobby");
    const received: [Chat["greeting"], MessageMeta][] = [];
    room.on("greeting", (data, meta) => received.push([data, meta]));
    await room.subscribe();

    const published = await dev.server.publish({
      room: "chat:lobby",
      event: "greeting",
      data: { text: "hello" },
    });
    await poll("the REST publish", () => received.length).toBe(1);
    const [data, meta] = received[0]!;
    expect(data).toEqual({ text: "hello" });
    expect(meta).toMatchObject({ room: "chat:lobby", event: "greeting", id: published.id, offset: 1 });
    expect(published.offsets["chat:lobby"]).toEqual({ offset: 1, epoch: meta.epoch });
  });

  it("client publish reaches another client; unsubscribe stops delivery", async () => {
    const dev = await p.developer();
    const caps = { "chat:*": ["subscribe", "publish"] as ("subscribe" | "publish")[] };
    const alice = p.client<Chat>({
      key: dev.publishableKey,
      getToken: async () => (await dev.server.createToken({ userId: "alice", capabilities: caps })).token,
    });
    const bob = p.client<Chat>({
      key: dev.publishableKey,
      getToken: async () => (await dev.server.createToken({ userId: "bob", capabilities: caps })).token,
    });
    const bobRoom = bob.room("chat:1");
    const got: { text: string; from?: string }[] = [];
    bobRoom.on("say", (data, meta) => got.push({ text: data.text, from: meta.from?.userId }));
    await bobRoom.subscribe();
    const aliceRoom = alice.room("chat:1");
    await aliceRoom.subscribe();
    const aliceGot: string[] = [];
    aliceRoom.on("say", (d) => aliceGot.push(d.text));

    await aliceRoom.publish("say", { text: "hi bob" });
    await poll("bob's message", () => got.length).toBe(1);
    expect(got).toEqual([{ text: "hi bob", from: "alice" }]);

    await bobRoom.unsubscribe();
    await aliceRoom.publish("say", { text: "are you there?" });
    // Alice receives her own message (echo), which shows it went out; Bob must not.
    await poll("alice's echo", () => aliceGot.length).toBe(2);
    await dev.server.publish({ room: "chat:1", event: "say", data: { text: "over REST" } });
    await poll("the REST message at alice", () => aliceGot.length).toBe(3);
    expect(got).toHaveLength(1);
  });

  it("a revoked secret key stops working at once, for REST and for tokens", async () => {
    const dev = await p.developer();
    await dev.server.publish({ room: "r", event: "e", data: 1 });
    await dev.trpc.keys.revoke.mutate({ appId: dev.appId, keyId: dev.key.id });
    await expect(dev.server.publish({ room: "r", event: "e", data: 2 })).rejects.toMatchObject({
      code: "INVALID_KEY",
      status: 401,
    });
    await expect(dev.server.createToken({ capabilities: {} })).rejects.toMatchObject({ code: "INVALID_KEY" });
  });

  it("an origin allow-list changed in the console applies to the next handshake", async () => {
    const dev = await p.developer();
    await dev.trpc.apps.update.mutate({ appId: dev.appId, allowedOrigins: ["https://*.good.example"] });
    const from = (origin: string) =>
      p.client({ key: dev.publishableKey, socketOptions: { extraHeaders: { origin } } as never });
    const evil = from("https://evil.example");
    const good = from("https://app.good.example");
    await until(() => evil.state === "failed", "the refused client to fail");
    expect(evil.error).toMatchObject({ code: "ORIGIN_NOT_ALLOWED" });
    await until(() => good.state === "connected", "the allowed client to connect");
  });
});

describe("isolation between apps", () => {
  it("two apps using the same room name never see each other's messages", async () => {
    const one = await p.developer();
    const two = await p.developer();
    const seen: Record<string, unknown[]> = { one: [], two: [] };
    for (const [name, dev] of [
      ["one", one],
      ["two", two],
    ] as const) {
      const client = p.client({ key: dev.publishableKey });
      const room = client.room("public:lobby");
      room.on("*", (data) => seen[name]!.push(data));
      await room.subscribe();
    }
    await one.server.publish({ room: "public:lobby", event: "e", data: "for one" });
    await two.server.publish({ room: "public:lobby", event: "e", data: "for two" });
    await until(() => seen.one!.length === 1 && seen.two!.length === 1, "both deliveries");
    await one.server.publish({ room: "public:lobby", event: "e", data: "again one" });
    await poll("the second delivery", () => seen.one!.length).toBe(2);
    expect(seen).toEqual({ one: ["for one", "again one"], two: ["for two"] });
  });

  it("refuses app A's token on app B's key, and app A's secret on app B's REST path", async () => {
    const one = await p.developer();
    const two = await p.developer();
    const { token } = await one.server.createToken({ capabilities: { "*": ["subscribe"] } });
    const client = p.client({ key: two.publishableKey, getToken: async () => token });
    await until(() => client.state === "failed", "the refusal");
    expect(client.error).toMatchObject({ code: "TOKEN_APP_MISMATCH" });

    const res = await fetch(`${p.urls.rest}/v1/apps/${two.appId}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${one.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ room: "r", event: "e", data: 1 }),
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatchObject({ code: "KEY_APP_MISMATCH", retry: "never" });
  });

  it("a client without the capability cannot subscribe or publish", async () => {
    const dev = await p.developer();
    const client = p.client({ key: dev.publishableKey }); // anonymous: public:* subscribe only
    await expect(client.room("private:x").subscribe()).rejects.toMatchObject({ code: "CAPABILITY_DENIED" });
    await client.room("public:x").subscribe();
    await expect(client.room("public:x").publish("e", 1)).rejects.toMatchObject({
      code: "CAPABILITY_DENIED",
    });
  });
});
