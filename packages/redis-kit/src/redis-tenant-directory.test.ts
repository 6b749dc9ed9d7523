import { RelaybaseError } from "@relaybase/protocol";
import { type AppRuntime, newAppId, newPublishableKey, newSecretKey, PLANS } from "@relaybase/server-kit";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisTenantDirectory } from "./redis-tenant-directory.js";
import {
  deleteKeys,
  OwnRedisServer,
  SHARED_REDIS_URL,
  uniquePrefix,
  waitFor,
} from "./testing/redis-server.js";

function makeApp(): { app: AppRuntime; secret: string } {
  const key = newSecretKey();
  const app: AppRuntime = {
    appId: newAppId(),
    orgId: "org_1",
    name: "Test app",
    allowedOrigins: ["https://one.example"],
    anonymousCaps: { "public:*": ["subscribe"] },
    clientPublish: true,
    plan: "free",
    limits: { ...PLANS.free, historyTtlSeconds: 120 },
    publishableKeys: [newPublishableKey()],
    secretKeys: [{ keyId: key.keyId, hash: key.hash }],
  };
  return { app, secret: key.secret };
}

/** Counts the commands a client sends. */
function countCommands(client: RedisClient): { count: () => number } {
  const spy = vi.spyOn(client, "sendCommand");
  return { count: () => spy.mock.calls.length };
}

describe("RedisTenantDirectory", () => {
  const prefix = uniquePrefix();
  let writerClient: RedisClient;
  let readerClient: RedisClient;
  let writer: RedisTenantDirectory;
  let reader: RedisTenantDirectory;

  beforeAll(async () => {
    writerClient = createRedisClient(SHARED_REDIS_URL);
    readerClient = createRedisClient(SHARED_REDIS_URL);
    await Promise.all([writerClient.connect(), readerClient.connect()]);
    writer = new RedisTenantDirectory(writerClient, { prefix });
    await writer.markLoaded();
    // A long TTL: anything seen within it comes from the change message, not expiry.
    reader = await RedisTenantDirectory.create(readerClient, { prefix, cacheTtlMs: 60_000 });
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  afterAll(async () => {
    await reader.close();
    await writer.close();
    await deleteKeys(writerClient, prefix);
    await Promise.all([writerClient.quit(), readerClient.quit()]);
  });

  it("serves an app put by another instance, by id, publishable key and secret key", async () => {
    const { app, secret } = makeApp();
    await writer.put(app);
    expect(await reader.byId(app.appId)).toEqual(app);
    expect(await reader.byPublishableKey(app.publishableKeys[0]!)).toEqual(app);
    expect(await reader.bySecretKey(secret)).toEqual(app);
  });

  it("refuses a wrong secret for a known key id, and malformed or unknown keys", async () => {
    const { app, secret } = makeApp();
    await writer.put(app);
    const forged = `${secret.slice(0, -1)}${secret.endsWith("a") ? "b" : "a"}`;
    expect(await reader.bySecretKey(forged)).toBeUndefined();
    expect(await reader.bySecretKey("sk_nonsense")).toBeUndefined();
    expect(await reader.bySecretKey(newSecretKey().secret)).toBeUndefined();
    expect(await reader.byPublishableKey(newPublishableKey())).toBeUndefined();
    expect(await reader.byPublishableKey("")).toBeUndefined();
    expect(await reader.byId(newAppId())).toBeUndefined();
  });

  it("stores the layout: record, index keys, and drops index keys of removed keys", async () => {
    const { app } = makeApp();
    await writer.put(app);
    const base = `${prefix}{rb:dir}:`;
    expect(JSON.parse((await writerClient.get(`${base}app:${app.appId}`))!)).toEqual(app);
    expect(await writerClient.get(`${base}pk:${app.publishableKeys[0]}`)).toBe(app.appId);
    expect(await writerClient.get(`${base}sk:${app.secretKeys[0]!.keyId}`)).toBe(app.appId);
    const next = { ...app, publishableKeys: [newPublishableKey()], secretKeys: [] };
    await writer.put(next);
    expect(await writerClient.exists(`${base}pk:${app.publishableKeys[0]}`)).toBe(0);
    expect(await writerClient.exists(`${base}sk:${app.secretKeys[0]!.keyId}`)).toBe(0);
    expect(await writerClient.get(`${base}pk:${next.publishableKeys[0]}`)).toBe(app.appId);
    await writer.remove(app.appId);
    expect(await writerClient.exists(`${base}app:${app.appId}`)).toBe(0);
    expect(await writerClient.exists(`${base}pk:${next.publishableKeys[0]}`)).toBe(0);
  });

  it("answers from memory once an app is cached", async () => {
    const { app, secret } = makeApp();
    await writer.put(app);
    await reader.byPublishableKey(app.publishableKeys[0]!);
    await reader.bySecretKey(secret);
    const commands = countCommands(readerClient);
    for (let i = 0; i < 100; i++) {
      await reader.byId(app.appId);
      await reader.byPublishableKey(app.publishableKeys[0]!);
      await reader.bySecretKey(secret);
    }
    expect(commands.count()).toBe(0);
  });

  it("remembers unknown keys briefly, and asks once for concurrent misses", async () => {
    const unknown = newPublishableKey();
    const commands = countCommands(readerClient);
    await Promise.all(Array.from({ length: 50 }, () => reader.byPublishableKey(unknown)));
    expect(commands.count()).toBe(1);
    for (let i = 0; i < 50; i++) expect(await reader.byPublishableKey(unknown)).toBeUndefined();
    expect(commands.count()).toBe(1);
  });

  it("sees a key added right after it was looked up as unknown", async () => {
    const { app } = makeApp();
    await writer.put(app);
    const added = newPublishableKey();
    expect(await reader.byPublishableKey(added)).toBeUndefined();
    await writer.put({ ...app, publishableKeys: [...app.publishableKeys, added] });
    await waitFor(async () => (await reader.byPublishableKey(added))?.appId === app.appId);
  });

  it("refuses a revoked secret key long before the cache TTL (the change message, not expiry)", async () => {
    const { app, secret } = makeApp();
    const rotated = newSecretKey();
    app.secretKeys.push({ keyId: rotated.keyId, hash: rotated.hash });
    await writer.put(app);
    expect(await reader.bySecretKey(secret)).toBeDefined();
    expect(await reader.bySecretKey(rotated.secret)).toBeDefined();
    await writer.put({ ...app, secretKeys: [{ keyId: rotated.keyId, hash: rotated.hash }] });
    // The wait's timeout (vitest.config.ts) is a fraction of the reader's 60 s cache TTL.
    await waitFor(async () => (await reader.bySecretKey(secret)) === undefined, "the revoked key refused");
    expect((await reader.bySecretKey(rotated.secret))?.appId).toBe(app.appId);
  });

  it("applies a changed origin list and a revoked publishable key within a second", async () => {
    const { app } = makeApp();
    await writer.put(app);
    const pk = app.publishableKeys[0]!;
    expect((await reader.byPublishableKey(pk))?.allowedOrigins).toEqual(["https://one.example"]);
    await writer.put({ ...app, allowedOrigins: ["https://two.example"] });
    await waitFor(async () => (await reader.byId(app.appId))?.allowedOrigins[0] === "https://two.example");
    await writer.put({ ...app, publishableKeys: [] });
    await waitFor(async () => (await reader.byPublishableKey(pk)) === undefined);
  });

  it("forgets a removed app within a second", async () => {
    const { app, secret } = makeApp();
    await writer.put(app);
    expect(await reader.bySecretKey(secret)).toBeDefined();
    await writer.remove(app.appId);
    await waitFor(async () => (await reader.byId(app.appId)) === undefined);
    expect(await reader.byPublishableKey(app.publishableKeys[0]!)).toBeUndefined();
    expect(await reader.bySecretKey(secret)).toBeUndefined();
  });

  it("reads its own writes at once", async () => {
    const { app } = makeApp();
    await writer.put(app);
    expect(await writer.byId(app.appId)).toEqual(app);
    await writer.put({ ...app, name: "Renamed" });
    expect((await writer.byId(app.appId))?.name).toBe("Renamed");
    await writer.remove(app.appId);
    expect(await writer.byId(app.appId)).toBeUndefined();
  });

  it("refreshes after the cache TTL even without a change message", async () => {
    const client = createRedisClient(SHARED_REDIS_URL);
    await client.connect();
    const deaf = new RedisTenantDirectory(client, { prefix, cacheTtlMs: 200 });
    const { app } = makeApp();
    await writer.put(app);
    expect((await deaf.byId(app.appId))?.name).toBe("Test app");
    // Written behind the directory's back (no PUBLISH), as if the message was lost.
    await writerClient.set(`${prefix}{rb:dir}:app:${app.appId}`, JSON.stringify({ ...app, name: "Changed" }));
    await waitFor(async () => (await deaf.byId(app.appId))?.name === "Changed");
    await client.quit();
  });
});

describe("RedisTenantDirectory when Redis fails", () => {
  let server: OwnRedisServer;
  let writerClient: RedisClient;
  let readerClient: RedisClient;
  let writer: RedisTenantDirectory;
  let reader: RedisTenantDirectory;

  beforeAll(async () => {
    server = await OwnRedisServer.start();
    writerClient = createRedisClient(server.url, { maxReconnectDelayMs: 100 });
    readerClient = createRedisClient(server.url, { maxReconnectDelayMs: 100 });
    await Promise.all([writerClient.connect(), readerClient.connect()]);
    writer = new RedisTenantDirectory(writerClient);
    await writer.markLoaded();
    // A command timeout far longer than what "at once" may take: serving from the cache and
    // failing fast while Redis is down is not waiting for it.
    reader = await RedisTenantDirectory.create(readerClient, { cacheTtlMs: 100, commandTimeoutMs: 20_000 });
  });

  afterAll(async () => {
    await reader.close();
    await Promise.all([writerClient.disconnect().catch(() => {}), readerClient.disconnect().catch(() => {})]);
    await server.stop();
  });

  it("serves cached apps while Redis is down, refuses nothing it knew, and says UNAVAILABLE for the rest", async () => {
    const { app, secret } = makeApp();
    await writer.put(app);
    expect(await reader.bySecretKey(secret)).toEqual(app);
    expect(await reader.byPublishableKey(app.publishableKeys[0]!)).toEqual(app);
    await server.stop();
    await new Promise((r) => setTimeout(r, 300)); // well past the cache TTL
    await waitFor(() => !readerClient.isReady, "the reader's client to see Redis gone");
    const started = Date.now();
    expect(await reader.byId(app.appId)).toEqual(app);
    expect(await reader.byPublishableKey(app.publishableKeys[0]!)).toEqual(app);
    expect(await reader.bySecretKey(secret)).toEqual(app);
    const err = await reader.byPublishableKey(newPublishableKey()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelaybaseError);
    expect((err as RelaybaseError).code).toBe("UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(10_000);
    const writeErr = await writer.put(app).catch((e: unknown) => e);
    expect((writeErr as RelaybaseError).code).toBe("UNAVAILABLE");
  });

  it("after Redis comes back (empty), revalidates what it had cached and hears changes again", async () => {
    const { app } = makeApp();
    await server.restart();
    await waitFor(() => readerClient.isReady && writerClient.isReady);
    // The restarted Redis lost everything (no persistence), the "loaded" marker too: a
    // miss is UNAVAILABLE (retry), not "unknown", until the control plane reloads.
    expect(await writer.byId(app.appId).catch((e: RelaybaseError) => e.code)).toBe("UNAVAILABLE");
    await writer.put(app);
    await writer.markLoaded();
    await waitFor(async () => (await reader.byId(app.appId))?.appId === app.appId);
    await writer.put({ ...app, allowedOrigins: ["https://after.example"] });
    await waitFor(async () => (await reader.byId(app.appId))?.allowedOrigins[0] === "https://after.example");
  });
});

describe("RedisTenantDirectory subscriber reconnect", () => {
  it("revalidates every cached entry when its subscriber reconnects", async () => {
    const server = await OwnRedisServer.start();
    const writerClient = createRedisClient(server.url, { maxReconnectDelayMs: 100 });
    const readerClient = createRedisClient(server.url, { maxReconnectDelayMs: 100 });
    await Promise.all([writerClient.connect(), readerClient.connect()]);
    const writer = new RedisTenantDirectory(writerClient);
    await writer.markLoaded();
    const reader = await RedisTenantDirectory.create(readerClient, { cacheTtlMs: 60_000 });
    try {
      const { app, secret } = makeApp();
      await writer.put(app);
      expect(await reader.bySecretKey(secret)).toEqual(app);
      // Kill only the reader's subscriber connection, and change the app behind its back
      // (no change message): only the revalidation on reconnect can reveal the change.
      const pubsubClientId = async () =>
        /id=(\d+)/.exec(String(await writerClient.sendCommand(["CLIENT", "LIST", "TYPE", "pubsub"])))?.[1];
      const before = await pubsubClientId();
      expect(before).toBeDefined();
      await writerClient.sendCommand(["CLIENT", "KILL", "ID", before!]);
      await writerClient.set(`{rb:dir}:app:${app.appId}`, JSON.stringify({ ...app, secretKeys: [] }));
      await waitFor(async () => {
        const now = await pubsubClientId();
        return now !== undefined && now !== before;
      });
      await waitFor(async () => (await reader.bySecretKey(secret)) === undefined);
    } finally {
      await reader.close();
      await Promise.all([writerClient.disconnect(), readerClient.disconnect()]);
      await server.stop();
    }
  });
});

describe("RedisTenantDirectory after Redis lost its data", () => {
  it("reloads through watchForLoss; meanwhile readers serve known apps and say UNAVAILABLE for the rest", async () => {
    const server = await OwnRedisServer.start();
    const writerClient = createRedisClient(server.url, { maxReconnectDelayMs: 100 });
    const readerClient = createRedisClient(server.url, { maxReconnectDelayMs: 100 });
    await Promise.all([writerClient.connect(), readerClient.connect()]);
    const writer = new RedisTenantDirectory(writerClient);
    const reader = await RedisTenantDirectory.create(readerClient, { cacheTtlMs: 50, negativeTtlMs: 10 });
    const { app, secret } = makeApp();
    let reloads = 0;
    const allowReload = { now: false };
    const stop = writer.watchForLoss(async () => {
      if (!allowReload.now) throw new Error("not yet");
      reloads += 1;
      await writer.put(app);
    }, 50);
    try {
      await writer.put(app);
      await writer.markLoaded();
      expect(await reader.bySecretKey(secret)).toEqual(app);
      await writerClient.sendCommand(["FLUSHALL"]);
      await new Promise((r) => setTimeout(r, 100)); // past the reader's cache TTL
      // What it knew it keeps serving; what it did not is "retry", not "unknown key".
      expect(await reader.bySecretKey(secret)).toEqual(app);
      const err = await reader.byPublishableKey(newPublishableKey()).catch((e: RelaybaseError) => e);
      expect(err).toMatchObject({ code: "UNAVAILABLE" });
      allowReload.now = true;
      await waitFor(async () => reloads === 1);
      const unknown = newPublishableKey();
      await waitFor(async () => (await reader.byPublishableKey(unknown).catch(() => "retry")) === undefined);
      expect(await reader.bySecretKey(secret)).toEqual(app);
    } finally {
      stop();
      await reader.close();
      await Promise.all([writerClient.disconnect(), readerClient.disconnect()]);
      await server.stop();
    }
  });
});
