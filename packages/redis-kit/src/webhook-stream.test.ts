import type { WebhookEvent } from "@relaybase/protocol";
import { webhookEvent } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisClient, type RedisClient } from "./client.js";
import { OwnRedisServer, SHARED_REDIS_URL, uniquePrefix } from "./testing/redis-server.js";
import { RedisWebhookConsumer, RedisWebhookStream } from "./webhook-stream.js";

const events = (n: number, appId = "app_stream") =>
  Array.from({ length: n }, (_, i) =>
    webhookEvent("client.published", appId, {
      room: "r",
      event: "e",
      data: { i },
      id: `m${i}`,
      offset: i + 1,
      connectionId: "c",
    }),
  );

describe("webhook events through a Redis stream", () => {
  let redis: RedisClient;
  const readers: RedisClient[] = [];
  const reader = async () => {
    const c = createRedisClient(SHARED_REDIS_URL, { name: "test-webhook-reader" });
    await c.connect();
    readers.push(c);
    return c;
  };
  beforeAll(async () => {
    redis = createRedisClient(SHARED_REDIS_URL, { name: "test-webhook-stream" });
    await redis.connect();
  });
  afterAll(async () => {
    for (const c of [redis, ...readers]) await c.quit().catch(() => {});
  });

  it("hands every event to the consumer, again after a handler failure, acknowledging only after it resolved", async () => {
    const prefix = uniquePrefix();
    const stream = new RedisWebhookStream(redis, { prefix });
    const sent = events(50);
    for (const e of sent) stream.emit(e);
    await stream.close();

    const got: WebhookEvent[] = [];
    let failures = 1;
    const consumer = new RedisWebhookConsumer(await reader(), { prefix, blockMs: 100 });
    consumer.start(async (batch) => {
      if (failures-- > 0) throw new Error("database away");
      got.push(...batch);
    });
    await expect.poll(() => got.length).toBe(50);
    await consumer.close();
    expect(got.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    // Acknowledged and removed: nothing is left for anyone.
    expect(await redis.sendCommand(["XLEN", `${prefix}{rb:wh}:events`])).toBe(0);
  });

  it("a consumer that died holding entries has them taken over by another", async () => {
    const prefix = uniquePrefix();
    const stream = new RedisWebhookStream(redis, { prefix });
    const sent = events(10);
    for (const e of sent) stream.emit(e);
    await stream.close();

    let seenByDead = 0;
    const dead = new RedisWebhookConsumer(await reader(), { prefix, blockMs: 100, consumer: "dead" });
    dead.start(async (batch) => {
      seenByDead += batch.length;
      throw new Error("killed before its commit");
    });
    await expect.poll(() => seenByDead).toBeGreaterThan(0);
    await dead.close();

    const got: WebhookEvent[] = [];
    const survivor = new RedisWebhookConsumer(await reader(), { prefix, blockMs: 100, claimIdleMs: 200 });
    survivor.start(async (batch) => {
      got.push(...batch);
    });
    await expect.poll(() => new Set(got.map((e) => e.id)).size).toBe(10);
    await survivor.close();
  });
});

describe("webhook events when Redis restarts empty before the dispatcher read them", () => {
  let own: OwnRedisServer;
  let writer: RedisClient;
  let readerClient: RedisClient | undefined;
  beforeAll(async () => {
    own = await OwnRedisServer.start();
    writer = createRedisClient(own.url, { name: "test-webhook-writer" });
    await writer.connect();
  });
  afterAll(async () => {
    await writer?.quit().catch(() => {});
    await readerClient?.quit().catch(() => {});
    await own?.stop();
  });

  it("the node writes them again once it sees the stream's epoch change", async () => {
    const stream = new RedisWebhookStream(writer, { checkMs: 50 });
    const sent = events(30);
    for (const e of sent) stream.emit(e);
    await expect.poll(() => stream.pending).toBe(0);
    await expect.poll(async () => Number(await writer.sendCommand(["XLEN", "{rb:wh}:events"]))).toBe(30);

    await own.stop();
    await own.restart();
    // The stream was lost with Redis; the node's next check writes what it kept.
    await expect
      .poll(async () => Number(await writer.sendCommand(["XLEN", "{rb:wh}:events"]).catch(() => 0)))
      .toBe(30);

    readerClient = createRedisClient(own.url, { name: "test-webhook-reader" });
    await readerClient.connect();
    const got: WebhookEvent[] = [];
    const consumer = new RedisWebhookConsumer(readerClient, { blockMs: 100 });
    consumer.start(async (batch) => {
      got.push(...batch);
    });
    await expect.poll(() => got.length).toBe(30);
    expect(got.map((e) => e.id)).toEqual(sent.map((e) => e.id));
    await consumer.close();
    await stream.close();
  });
});
