/**
 * The console's live tail on the platform's own realtime path (docs/console.md#the-debug-console):
 * a debug token from `apps.debugToken`, subscribed with the SDK, sees the app's connections,
 * subscribes, publishes (client and REST) and refusals; a customer's token cannot ask for
 * the reserved room; a flood reaches the tail at most at the documented cap.
 */
import { DEBUG_EVENTS_PER_SECOND, DEBUG_ROOM, type DebugEvent } from "@relaybase/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ack, handshake, poll, rawSocket, type SignedUpDeveloper } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

let p: TestPlatform;
const OPERATOR_TOKEN = "operator-token-for-debug-tail-tests-0123";

beforeAll(async () => {
  p = await startTestPlatform({ OPERATOR_TOKEN });
}, 60_000);
afterAll(() => p?.close());

/** A console's tail: an SDK client with a debug token, its events collected. */
async function openTail(dev: SignedUpDeveloper) {
  const client = p.client({
    key: dev.publishableKey,
    getToken: async () => (await dev.trpc.apps.debugToken.mutate({ appId: dev.appId })).token,
  });
  const events: (DebugEvent & { at: number })[] = [];
  const tail = client.debugTail();
  tail.on((e) => events.push({ ...e, at: Date.now() }));
  await tail.start();
  return { client, events, of: (kind: DebugEvent["kind"]) => events.filter((e) => e.kind === kind) };
}

describe("the debug tail", () => {
  it("shows connections, subscribes, client and REST publishes and refusals, with codes", async () => {
    const dev = await p.developer();
    const tail = await openTail(dev);

    const alice = p.client({
      key: dev.publishableKey,
      getToken: async () =>
        (
          await dev.server.createToken({
            userId: "alice",
            capabilities: { "chat:*": ["subscribe", "publish"] },
          })
        ).token,
    });
    const room = alice.room("chat:lobby");
    await room.subscribe();
    const long = { text: "hi".repeat(200) };
    const published = await room.publish("say", long);
    await dev.server.publish({ room: "chat:lobby", event: "news", data: { n: 1 } });
    await dev.server.batch([{ room: "chat:other", event: "bulk", data: {} }]);
    // Refused: a room the token does not allow.
    await expect(alice.room("secret:x").subscribe()).rejects.toMatchObject({ code: "CAPABILITY_DENIED" });
    const id = alice.connectionId;
    alice.close();

    await poll("the disconnect in the tail", () => tail.of("disconnect").length).toBe(1);
    const connect = tail.of("connect");
    expect(connect).toEqual([
      expect.objectContaining({ connectionId: id, userId: "alice", transport: "websocket" }),
    ]);
    expect(tail.of("subscribe")).toEqual([expect.objectContaining({ connectionId: id, room: "chat:lobby" })]);
    const publishes = tail.of("publish");
    expect(publishes).toEqual([
      expect.objectContaining({
        source: "client",
        room: "chat:lobby",
        event: "say",
        offset: published.offset,
        connectionId: id,
        userId: "alice",
        size: JSON.stringify(long).length,
        truncated: true,
      }),
      expect.objectContaining({
        source: "rest",
        room: "chat:lobby",
        event: "news",
        offset: 2,
        preview: '{"n":1}',
      }),
      expect.objectContaining({ source: "batch", room: "chat:other", event: "bulk", offset: 1 }),
    ]);
    expect(publishes[0]!.preview).toHaveLength(256);
    expect(tail.of("refused")).toEqual([
      expect.objectContaining({
        request: "subscribe",
        code: "CAPABILITY_DENIED",
        room: "secret:x",
        connectionId: id,
      }),
    ]);
    expect(tail.of("disconnect")).toEqual([
      expect.objectContaining({ connectionId: id, reason: "client namespace disconnect" }),
    ]);
    // The console's own tail connection is not in its tail.
    expect(connect.map((e) => e.connectionId)).not.toContain(tail.client.connectionId);
  });

  it("reports a refused handshake and a REST refusal with their codes", async () => {
    const dev = await p.developer();
    const tail = await openTail(dev);
    const expired = p.client({ key: dev.publishableKey, getToken: async () => "not.a.token" });
    await poll("the refused client to fail", () => expired.state).toBe("failed");
    const res = await fetch(`${p.urls.rest}/v1/apps/${dev.appId}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ room: "bad room", event: "x", data: {} }),
    });
    expect(res.status).toBe(400);
    await poll("both refusals", () => tail.of("refused").map((e) => [e.request, e.code])).toEqual([
      ["connect", "TOKEN_INVALID"],
      ["POST /v1/apps/:appId/publish", "INVALID_ROOM_NAME"],
    ]);
  });

  it("refuses the reserved room to every customer token, anonymous or not, and to other apps' debug tokens", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    // A customer's broadest token: every room pattern, every operation.
    const { token } = await dev.server.createToken({
      userId: "mallory",
      capabilities: { "*": ["subscribe", "publish", "presence", "history"] },
    });
    const customer = rawSocket(p.urls.realtime, dev.publishableKey, token);
    await handshake(customer);
    const refused = await ack(customer, "subscribe", { room: DEBUG_ROOM });
    expect(refused).toMatchObject({ ok: false, error: { code: "RESERVED_ROOM", retry: "never" } });
    expect(
      await ack(customer, "publish", { room: DEBUG_ROOM, event: "x", data: {}, id: "m1" }),
    ).toMatchObject({
      ok: false,
      error: { code: "RESERVED_ROOM" },
    });
    customer.close();
    const anonymous = rawSocket(p.urls.realtime, dev.publishableKey);
    await handshake(anonymous);
    expect(await ack(anonymous, "subscribe", { room: DEBUG_ROOM })).toMatchObject({
      error: { code: "RESERVED_ROOM" },
    });
    anonymous.close();
    // The SDK's tail with a customer token: refused the same way.
    const sdk = p.client({ key: dev.publishableKey, getToken: async () => token });
    await expect(sdk.debugTail().start()).rejects.toMatchObject({ code: "RESERVED_ROOM" });
    // Another app's debug token does not connect to this app at all.
    const theirs = (await other.trpc.apps.debugToken.mutate({ appId: other.appId })).token;
    const crossed = rawSocket(p.urls.realtime, dev.publishableKey, theirs);
    expect(await handshake(crossed)).toBe("TOKEN_APP_MISMATCH");
    crossed.close();
    // And a customer cannot mint the claim through POST /v1/tokens.
    const minted = await fetch(`${p.urls.controlPlane}/v1/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ appId: dev.appId, userId: "x", capabilities: {}, debug: true }),
    });
    expect(minted.status).toBe(400);
  });

  it(`a flood reaches the tail at most at ${DEBUG_EVENTS_PER_SECOND} events a second, and says how many it dropped`, async () => {
    const dev = await p.developer();
    // An app allowed a real flood (the free plan takes 50 REST publishes a second).
    const override = await fetch(`${p.urls.controlPlane}/operator/v1/apps/${dev.appId}/limits`, {
      method: "PUT",
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ limits: { restPublishesPerSecond: 5_000 } }),
    });
    expect(override.status).toBe(200);
    const tail = await openTail(dev);
    const started = Date.now();
    // 1 000 messages in ten REST batches, as fast as they go.
    const TOTAL = 1_000;
    for (let b = 0; b < TOTAL / 100; b++) {
      await dev.server.batch(
        Array.from({ length: 100 }, (_, i) => ({ room: "flood", event: "tick", data: { i: b * 100 + i } })),
      );
    }
    const publishedIn = (Date.now() - started) / 1000;

    await poll("a dropped marker", () => tail.of("dropped").length).toBeGreaterThan(0);
    // Every message is shown or counted as dropped (markers come once a second).
    const dropped = () => tail.of("dropped").reduce((n, e) => n + (e.count ?? 0), 0);
    await poll("every publish accounted for", () => tail.of("publish").length + dropped()).toBe(TOTAL);
    const shown = tail.of("publish");
    const seconds = (shown.at(-1)!.at - started) / 1000;
    // The bucket: a burst of one second's worth, then the rate; a second of slack.
    expect(shown.length).toBeLessThanOrEqual(DEBUG_EVENTS_PER_SECOND * (Math.ceil(seconds) + 2));
    expect(dropped()).toBeGreaterThan(0);
    console.info(
      `[debug-tail] ${TOTAL} REST publishes in ${publishedIn.toFixed(2)} s: ${shown.length} shown, ` +
        `${dropped()} dropped in ${tail.of("dropped").length} markers`,
    );
  });
});
