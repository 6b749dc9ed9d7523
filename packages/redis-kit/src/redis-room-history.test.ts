import { RelaybaseError } from "@relaybase/protocol";
import type { RetentionLimits, StoredMessage } from "@relaybase/server-kit";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisRoomHistory } from "./redis-room-history.js";
import {
  deleteKeys,
  OwnRedisServer,
  SHARED_REDIS_URL,
  uniquePrefix,
  waitFor,
} from "./testing/redis-server.js";
import { describeRoomHistoryContract } from "./testing/room-history-contract.js";

const prefix = uniquePrefix();
const limits: RetentionLimits = { maxEntries: 100, ttlMs: 60_000 };
const msg = (id: string, ts = Date.now()): Omit<StoredMessage, "offset"> => ({
  id,
  event: "ev",
  data: { id },
  ts,
});

let client: RedisClient;
let second: RedisClient;

beforeAll(async () => {
  client = createRedisClient(SHARED_REDIS_URL);
  second = createRedisClient(SHARED_REDIS_URL);
  await Promise.all([client.connect(), second.connect()]);
});

afterAll(async () => {
  await deleteKeys(client, prefix);
  await Promise.all([client.quit(), second.quit()]);
});

describeRoomHistoryContract("RedisRoomHistory", (now) => new RedisRoomHistory(client, { prefix, now }));

describe("RedisRoomHistory on Redis", () => {
  const room = () => `a:app_test:r${Math.random().toString(36).slice(2)}`;

  it("keeps a room's keys under one hash tag, with expiries, and the dedup map in step", async () => {
    const history = new RedisRoomHistory(client, { prefix, expiryMarginMs: 5_000, roomIdleMs: 3_600_000 });
    const key = room();
    const small = { maxEntries: 3, ttlMs: 10_000 };
    for (let i = 1; i <= 7; i++) await history.append(key, msg(`m${i}`), small);
    const [meta, stream, ids] = history.keys(key);
    for (const k of [meta, stream, ids]) expect(k.startsWith(`${prefix}{rb:h:${key}}:`)).toBe(true);
    expect(await client.hGetAll(meta)).toMatchObject({ offset: "7" });
    expect(await client.xLen(stream)).toBe(3);
    expect(await client.hGetAll(ids)).toEqual({ m5: "5", m6: "6", m7: "7" });
    const dataTtl = await client.pTTL(stream);
    expect(dataTtl).toBeGreaterThan(14_000);
    expect(dataTtl).toBeLessThanOrEqual(15_000);
    expect(await client.pTTL(ids)).toBeGreaterThan(14_000);
    expect(await client.pTTL(meta)).toBeGreaterThan(3_500_000);
  });

  it("trims by age in real time", async () => {
    const history = new RedisRoomHistory(client, { prefix });
    const key = room();
    const short = { maxEntries: 100, ttlMs: 200 };
    const { epoch } = await history.append(key, msg("m1"), short);
    await new Promise((r) => setTimeout(r, 300));
    await history.append(key, msg("m2"), short);
    expect(await client.xLen(history.keys(key)[1])).toBe(1);
    expect(await client.hKeys(history.keys(key)[2])).toEqual(["m2"]);
    expect((await history.since(key, { offset: 0, epoch }, short)).recovered).toBe(false);
    expect((await history.since(key, { offset: 1, epoch }, short)).messages.map((m) => m.id)).toEqual(["m2"]);
  });

  it("lets an idle room vanish; it then comes back with a new epoch and a gap", async () => {
    const history = new RedisRoomHistory(client, { prefix, expiryMarginMs: 50, roomIdleMs: 100 });
    const key = room();
    const short = { maxEntries: 100, ttlMs: 100 };
    await history.append(key, msg("m1"), short);
    const { epoch } = await history.append(key, msg("m2"), short);
    await new Promise((r) => setTimeout(r, 400));
    expect(await client.exists(history.keys(key))).toBe(0);
    const replay = await history.since(key, { offset: 2, epoch }, short);
    expect(replay.recovered).toBe(false);
    expect(replay.position.offset).toBe(0);
    expect(replay.position.epoch).not.toBe(epoch);
    expect(await history.append(key, msg("m3"), short)).toEqual({
      offset: 1,
      epoch: replay.position.epoch,
      duplicate: false,
    });
  });

  it("never gives two messages the same offset: 2 clients x 200 concurrent appends", async () => {
    const a = new RedisRoomHistory(client, { prefix });
    const b = new RedisRoomHistory(second, { prefix });
    const key = room();
    const jobs = [];
    for (let i = 0; i < 200; i++) {
      jobs.push(a.append(key, msg(`a${i}`), { maxEntries: 1_000, ttlMs: 60_000 }));
      jobs.push(b.append(key, msg(`b${i}`), { maxEntries: 1_000, ttlMs: 60_000 }));
    }
    const results = await Promise.all(jobs);
    const offsets = results.map((r) => r.offset).sort((x, y) => x - y);
    expect(offsets).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.epoch)).size).toBe(1);
    const replay = await a.since(
      key,
      { offset: 0, epoch: results[0]!.epoch },
      { maxEntries: 1_000, ttlMs: 60_000 },
    );
    expect(replay.messages.map((m) => m.offset)).toEqual(offsets);
  });

  it("dedups a message id sent concurrently by two nodes", async () => {
    const a = new RedisRoomHistory(client, { prefix });
    const b = new RedisRoomHistory(second, { prefix });
    const key = room();
    const [x, y] = await Promise.all([
      a.append(key, msg("same"), limits),
      b.append(key, msg("same"), limits),
    ]);
    expect([x.duplicate, y.duplicate].sort()).toEqual([false, true]);
    expect(x.offset).toBe(1);
    expect(y.offset).toBe(1);
  });

  it("bounds a replay by maxEntries", async () => {
    const history = new RedisRoomHistory(client, { prefix });
    const key = room();
    let epoch = "";
    for (let i = 1; i <= 50; i++) epoch = (await history.append(key, msg(`m${i}`), limits)).epoch;
    const replay = await history.since(key, { offset: 0, epoch }, limits);
    expect(replay.messages).toHaveLength(50);
    expect((await history.since(key, { offset: 45, epoch }, limits)).messages.map((m) => m.offset)).toEqual([
      46, 47, 48, 49, 50,
    ]);
  });
});

describe("RedisRoomHistory when Redis fails", () => {
  let server: OwnRedisServer;
  let own: RedisClient;

  beforeAll(async () => {
    server = await OwnRedisServer.start();
    own = createRedisClient(server.url, { maxReconnectDelayMs: 200 });
    await own.connect();
  });

  afterAll(async () => {
    await own.disconnect().catch(() => {});
    await server.stop();
  });

  it("starts a new epoch after a flush, and tells a client with the old one it has a gap", async () => {
    const history = new RedisRoomHistory(own);
    const key = "a:app_test:flushed";
    await history.append(key, msg("m1"), limits);
    const { epoch } = await history.append(key, msg("m2"), limits);
    await own.flushAll();
    const replay = await history.since(key, { offset: 2, epoch }, limits);
    expect(replay.recovered).toBe(false);
    expect(replay.position.offset).toBe(0);
    expect(replay.position.epoch).not.toBe(epoch);
    const next = await history.append(key, msg("m3"), limits);
    expect(next).toEqual({ offset: 1, epoch: replay.position.epoch, duplicate: false });
  });

  it("reloads its scripts when Redis forgot them (NOSCRIPT)", async () => {
    const history = new RedisRoomHistory(own);
    await history.append("a:app_test:scripts", msg("m1"), limits);
    await own.scriptFlush();
    expect((await history.append("a:app_test:scripts", msg("m2"), limits)).offset).toBe(2);
    expect((await history.position("a:app_test:scripts")).offset).toBe(2);
  });

  it("fails with UNAVAILABLE within the command timeout when Redis does not answer", async () => {
    const history = new RedisRoomHistory(own, { commandTimeoutMs: 300 });
    const probe = createClient({ url: server.url });
    probe.on("error", () => {});
    await probe.connect();
    await own.sendCommand(["CLIENT", "PAUSE", "1500", "ALL"]).catch(() => {});
    // Answered when Redis answers again: the append must not wait for that.
    const resumed = probe.ping().then(() => "Redis answered");
    const err = await Promise.race([
      history.append("a:app_test:paused", msg("m1"), limits).catch((e: unknown) => e),
      resumed,
    ]);
    expect(err).toBeInstanceOf(RelaybaseError);
    expect((err as RelaybaseError).code).toBe("UNAVAILABLE");
    // The append sent before the timeout runs once Redis resumes; a retry with the
    // same id is then a duplicate of it, not a second message.
    await resumed;
    await probe.disconnect();
    expect(await history.append("a:app_test:paused", msg("m1"), limits)).toMatchObject({
      offset: 1,
      duplicate: true,
    });
  });

  it("fails fast with UNAVAILABLE when Redis is down, and works again when it is back", async () => {
    // A plain client with its offline queue on: the history must not queue behind it.
    const plain = createClient({ url: server.url, socket: { reconnectStrategy: 100 } });
    plain.on("error", () => {});
    await plain.connect();
    // A command timeout far longer than what "at once" may take: failing fast is not
    // waiting for it.
    const options = { commandTimeoutMs: 20_000 };
    const histories = [
      new RedisRoomHistory(own, options),
      new RedisRoomHistory(plain as unknown as RedisClient, options),
    ];
    await server.stop();
    await waitFor(() => !own.isReady && !plain.isReady, "both clients to see Redis gone");
    for (const history of histories) {
      for (const op of [
        () => history.append("a:app_test:down", msg("m1"), limits),
        () => history.position("a:app_test:down"),
        () => history.since("a:app_test:down", { offset: 0, epoch: "x" }, limits),
      ]) {
        const started = Date.now();
        const err = await op().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RelaybaseError);
        expect((err as RelaybaseError).code).toBe("UNAVAILABLE");
        expect(Date.now() - started).toBeLessThan(options.commandTimeoutMs / 2);
      }
    }
    await server.restart();
    await waitFor(() => own.isReady && plain.isReady);
    for (const history of histories) {
      expect(
        (await history.append("a:app_test:back", msg(`m${Math.random()}`), limits)).offset,
      ).toBeGreaterThan(0);
    }
    await plain.disconnect();
  });
});
