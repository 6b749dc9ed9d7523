import type { GapInfo, ResumeInfo } from "@relaybase/sdk";
import { RelaybaseHttpError, type ServerClient } from "@relaybase/sdk/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll, sleep, startLink, until } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

/**
 * A client loses its connection, 20 messages are published over REST while it is away,
 * and it comes back: every message arrives exactly once, in order, and the app is told
 * whether the room recovered. Once through Socket.IO's own connection state recovery,
 * once with it unavailable (the SDK resubscribes with `since` and the room's history
 * replays), and once for a disconnection that outlives the room's history (a gap).
 */
async function awayAndBack(p: TestPlatform, missed: number) {
  const dev = await p.developer();
  const proxy = await startLink(p.urls.realtime);
  const client = p.client({ key: dev.publishableKey, url: proxy.url, reconnectionDelayMs: 50 });
  const room = client.room("public:feed");
  const numbers: number[] = [];
  const resumed: ResumeInfo[] = [];
  const gaps: GapInfo[] = [];
  room.on("n", (n) => numbers.push(n as number));
  room.onStatus("resumed", (info) => resumed.push(info));
  room.onStatus("gap", (info) => gaps.push(info));
  await room.subscribe();
  // One message before the blip: Socket.IO recovery needs the client to have an offset.
  await dev.server.publish({ room: "public:feed", event: "n", data: 0 });
  await poll("the first message", () => numbers.length).toBe(1);

  proxy.down();
  await until(() => client.state !== "connected", "the client to notice the drop");
  for (let i = 1; i <= missed; i++) await publishWithinLimits(dev.server, i);
  proxy.up();
  await poll("the room to resume", () => resumed.length).toBe(1);
  await dev.server.publish({ room: "public:feed", event: "n", data: missed + 1 });
  await until(() => numbers.at(-1) === missed + 1, "the message after the reconnect");
  await proxy.close();
  return { numbers, resumed: resumed[0]!, gaps };
}

/**
 * Publishes as a well-behaved server does: past the plan's REST publishes per second
 * (50 on free) a 429 RATE_LIMITED says when to retry, and the retry keeps the message id.
 */
async function publishWithinLimits(server: ServerClient, n: number): Promise<void> {
  const id = `n-${n}-${Math.random().toString(36).slice(2)}`;
  for (;;) {
    try {
      await server.publish({ room: "public:feed", event: "n", data: n, id });
      return;
    } catch (err) {
      if (!(err instanceof RelaybaseHttpError) || err.code !== "RATE_LIMITED") throw err;
      await sleep((err.retryAfter ?? 1) * 1000);
    }
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("recovery through Socket.IO's connection state recovery", () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await startTestPlatform();
  });
  afterAll(() => p.close());

  it("delivers the 20 missed messages once, in order, recovered", async () => {
    const { numbers, resumed, gaps } = await awayAndBack(p, 20);
    expect(numbers).toEqual(range(0, 21));
    expect(resumed).toMatchObject({ recovered: true, via: "connection" });
    expect(gaps).toEqual([]);
  });
});

describe("recovery from room history when Socket.IO cannot recover the session", () => {
  let p: TestPlatform;
  beforeAll(async () => {
    // A 1 ms window: every session is gone by the time the client returns.
    p = await startTestPlatform({ RECOVERY_MAX_DISCONNECTION_MS: "1" });
  });
  afterAll(() => p.close());

  it("resubscribes with `since` and gets the 20 missed messages once, in order", async () => {
    const { numbers, resumed, gaps } = await awayAndBack(p, 20);
    expect(numbers).toEqual(range(0, 21));
    expect(resumed).toMatchObject({ recovered: true, via: "history" });
    expect(gaps).toEqual([]);
  });

  it("reports a gap when the disconnection outlives the room's history", async () => {
    // The free plan keeps 100 messages per room; 150 are published while away.
    const { numbers, resumed, gaps } = await awayAndBack(p, 150);
    expect(resumed).toMatchObject({ recovered: false, via: "history" });
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ room: "public:feed", lastOffset: 1, newOffset: 151 });
    // Nothing is pretended: the client has what it saw before and what came after.
    expect(numbers).toEqual([0, 151]);
  });
});
