import { PLANS, type PlanLimits } from "@relaybase/server-kit";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientAddress, PendingAdmissions } from "./limits.js";
import { connected, emitAck, type NodeFixture, startNode } from "./test-fixtures.js";

describe("clientAddress", () => {
  const handshake = (address: string, xff?: string) => ({
    address,
    headers: xff === undefined ? {} : { "x-forwarded-for": xff },
  });

  it("uses the TCP peer and ignores X-Forwarded-For unless proxies are trusted", () => {
    expect(clientAddress(handshake("::ffff:10.0.0.9", "1.2.3.4"), 0)).toBe("10.0.0.9");
  });

  it("reads X-Forwarded-For from the right, one entry per trusted proxy", () => {
    // client 1.2.3.4 → ingress (adds 1.2.3.4) → node; a spoofed entry sits on the left.
    expect(clientAddress(handshake("10.0.0.2", "6.6.6.6, 1.2.3.4"), 1)).toBe("1.2.3.4");
    // client → CDN (adds client) → ingress (adds CDN) → node.
    expect(clientAddress(handshake("10.0.0.2", "6.6.6.6, 1.2.3.4, 9.9.9.9"), 2)).toBe("1.2.3.4");
    // Fewer entries than trusted hops: the leftmost one there is.
    expect(clientAddress(handshake("10.0.0.2", "1.2.3.4"), 3)).toBe("1.2.3.4");
    expect(clientAddress(handshake("10.0.0.2"), 1)).toBe("10.0.0.2");
  });
});

describe("PendingAdmissions", () => {
  it("counts, for each handshake, the older ones still deciding", () => {
    const pending = new PendingAdmissions();
    const first = pending.hold("a");
    const second = pending.hold("a");
    const third = pending.hold("a");
    expect([first.ahead(), second.ahead(), third.ahead(), pending.hold("b").ahead()]).toEqual([0, 1, 2, 0]);
    // Once the first has decided (admitted and counted, or refused), nobody counts it.
    first.release();
    first.release();
    expect([second.ahead(), third.ahead()]).toEqual([0, 1]);
    expect(pending.hold("a").ahead()).toBe(2);
  });
});

describe("limits on a real node", () => {
  let f: NodeFixture;
  beforeAll(async () => {
    f = await startNode();
  });
  afterAll(async () => {
    await f.close();
  });

  const appWith = (limits: Partial<PlanLimits>) =>
    f.addApp({ limits: { ...PLANS.free, ...limits }, anonymousCaps: { "*": ["subscribe", "publish"] } });
  const connect = (key: string) => connected(f.client({ key }));
  const outcome = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("connect_error", (err: Error & { data?: { code: string } }) =>
        resolve(err.data?.code ?? err.message),
      );
    });

  it("admits maxConnections at once, never more, even for a burst of handshakes", async () => {
    const app = await appWith({ maxConnections: 3 });
    const key = app.publishableKeys[0]!;
    const burst = Array.from({ length: 6 }, () => f.client({ key }));
    const outcomes = await Promise.all(burst.map(outcome));
    expect(outcomes.filter((o) => o === "connected")).toHaveLength(3);
    expect(outcomes.filter((o) => o === "OVER_CONNECTION_QUOTA")).toHaveLength(3);
    for (const s of burst) s.disconnect();
  });

  it("refuses with OVER_CONNECTION_QUOTA (retry never) and admits again after a disconnect", async () => {
    const app = await appWith({ maxConnections: 2 });
    const key = app.publishableKeys[0]!;
    const a = await connect(key);
    await connect(key);
    await expect(connect(key)).rejects.toMatchObject({ code: "OVER_CONNECTION_QUOTA", retry: "never" });
    a.disconnect();
    // Admitted again once the node has seen the disconnect (no fixed time for that).
    await expect
      .poll(
        () =>
          connect(key).then(
            () => "connected",
            (err: { code?: string }) => err.code,
          ),
        { message: "a connection admitted after the disconnect" },
      )
      .toBe("connected");
  });

  it("limits new connections per second from one IP with CONNECT_RATE_LIMITED and a retryAfter", async () => {
    const app = await appWith({ connectionsPerSecondPerIp: 2 });
    const key = app.publishableKeys[0]!;
    await connect(key);
    await connect(key);
    await expect(connect(key)).rejects.toMatchObject({
      code: "CONNECT_RATE_LIMITED",
      retry: "backoff",
      retryAfter: 1,
    });
    await new Promise((r) => setTimeout(r, 1100));
    await expect(connect(key)).resolves.toBeTruthy();
  });

  it("limits rooms per connection; re-subscribing a room it has is free", async () => {
    const app = await appWith({ roomsPerConnection: 2 });
    const socket = await connect(app.publishableKeys[0]!);
    expect(await emitAck(socket, "subscribe", { room: "r1" })).toMatchObject({ ok: true });
    expect(await emitAck(socket, "subscribe", { room: "r2" })).toMatchObject({ ok: true });
    expect(await emitAck(socket, "subscribe", { room: "r1" })).toMatchObject({ ok: true });
    expect(await emitAck(socket, "subscribe", { room: "r3" })).toMatchObject({
      ok: false,
      error: { code: "TOO_MANY_SUBSCRIPTIONS", retry: "never" },
    });
    expect(await emitAck(socket, "unsubscribe", { room: "r1" })).toMatchObject({ ok: true });
    expect(await emitAck(socket, "subscribe", { room: "r3" })).toMatchObject({ ok: true });
  });

  it("refuses client publishes past the per-connection rate, and past the daily quota without storing", async () => {
    const app = await appWith({ clientPublishesPerSecond: 3, messagesPerDay: 5 });
    const socket = await connect(app.publishableKeys[0]!);
    const publish = (n: number) =>
      emitAck(socket, "publish", { room: "r", event: "n", data: n, id: `m${n}` });
    const first = await Promise.all([1, 2, 3, 4].map(publish));
    expect(first.map((a) => a.ok)).toEqual([true, true, true, false]);
    expect(first[3]).toMatchObject({ error: { code: "RATE_LIMITED", retry: "backoff", retryAfter: 1 } });
    await new Promise((r) => setTimeout(r, 1100));
    const second = await Promise.all([5, 6, 7].map(publish));
    expect(second.map((a) => a.ok)).toEqual([true, true, false]);
    expect(second[2]).toMatchObject({ error: { code: "DAILY_QUOTA_EXCEEDED", retry: "backoff" } });
    expect(second[2].error.retryAfter).toBeGreaterThan(0);
    // Five stored (offsets 1-5), nothing for the refused ones.
    expect(await emitAck(socket, "subscribe", { room: "r" })).toMatchObject({ ok: true, offset: 5 });
  });
});
