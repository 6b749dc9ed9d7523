import { RelaybaseError } from "@relaybase/protocol";
import { ErrorReply } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createRedisClient, type RedisClient, toRelaybaseError } from "./client.js";
import { OwnRedisServer, SHARED_REDIS_URL } from "./testing/redis-server.js";

describe("Redis client helpers", () => {
  let client: RedisClient;

  beforeAll(async () => {
    client = createRedisClient(SHARED_REDIS_URL, { name: "rbtest" });
    await client.connect();
  });

  afterAll(async () => {
    await client.quit();
  });

  it("maps lost connections and transient replies to UNAVAILABLE, and leaves bugs alone", () => {
    for (const err of [
      new Error("socket closed"),
      new ErrorReply("LOADING Redis is loading"),
      new ErrorReply("READONLY x"),
    ]) {
      const mapped = toRelaybaseError(err);
      expect(mapped).toBeInstanceOf(RelaybaseError);
      expect((mapped as RelaybaseError).code).toBe("UNAVAILABLE");
      expect((mapped as Error & { cause?: unknown }).cause).toBe(err);
    }
    const bug = new ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value");
    expect(toRelaybaseError(bug)).toBe(bug);
  });

  it("sends commands, and surfaces a command error as itself", async () => {
    expect(await call(client, ["PING"], 1_000)).toBe("PONG");
    await expect(call(client, ["NOSUCHCOMMAND"], 1_000)).rejects.toBeInstanceOf(ErrorReply);
  });

  it("fails at once on a client that is not connected", async () => {
    const idle = createRedisClient(SHARED_REDIS_URL);
    const started = Date.now();
    const err = await call(idle, ["PING"], 20_000).catch((e: unknown) => e);
    expect((err as RelaybaseError).code).toBe("UNAVAILABLE");
    // Well before its 20 s timeout: it did not wait for an answer that cannot come.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("does not count a blocked event loop as Redis's time (defect: UNAVAILABLE in reconnect storms)", async () => {
    // Redis answers PING in well under a millisecond; this process then stays busy for
    // longer than the timeout, as a node does while hundreds of clients reconnect.
    const reply = call(client, ["PING"], 200);
    const busyUntil = performance.now() + 600;
    while (performance.now() < busyUntil) {
      // a blocked event loop
    }
    expect(await reply).toBe("PONG");
  });

  it("still times out when Redis itself does not answer", async () => {
    // Its own server, paused: the shared one serves other test files meanwhile.
    const own = await OwnRedisServer.start();
    const paused = createRedisClient(own.url);
    const admin = createRedisClient(own.url);
    try {
      await Promise.all([paused.connect(), admin.connect()]);
      await call(admin, ["CLIENT", "PAUSE", "1500", "ALL"], 1_000);
      const err = await call(paused, ["PING"], 200).catch((e: unknown) => e);
      expect((err as RelaybaseError).code).toBe("UNAVAILABLE");
    } finally {
      paused.disconnect().catch(() => {});
      admin.disconnect().catch(() => {});
      await own.stop();
    }
  });
});
