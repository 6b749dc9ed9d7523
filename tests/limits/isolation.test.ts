/**
 * Limits protect everyone else: a connection that floods after being refused is told
 * why and disconnected while a polite one on the same app carries on, and an app
 * flooding REST at 10× its rate does not cost another app a single message. These are
 * tests of isolation, not of latency: nothing here asserts a timing.
 */
import type { WireError } from "@relaybase/protocol";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { ack, handshake, poll, rawSocket, sleep } from "../fixtures.js";
import { createTestDatabase, restPublish, setLimits, type TestDatabase } from "./fixtures.js";

let db: TestDatabase;
let p: TestPlatform;
const sockets: Socket[] = [];
beforeAll(async () => {
  db = await createTestDatabase("postgres");
  p = await startTestPlatform({ DATABASE_URL: db.env.DATABASE_URL! });
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await p?.close();
  await db?.drop();
});

async function connect(key: string): Promise<Socket> {
  const socket = rawSocket(p.urls.realtime, key);
  sockets.push(socket);
  expect(await handshake(socket)).toBe("connected");
  return socket;
}

describe("a connection that keeps flooding", () => {
  it("gets a RATE_LIMITED notice and is disconnected; a polite connection of the same app is unaffected", async () => {
    const dev = await p.developer();
    await setLimits(db, dev, { clientPublishesPerSecond: 5 });

    // The polite one: an SDK client publishing well under its limit, and subscribed.
    const polite = p.client<{ n: number }>({ key: dev.publishableKey });
    const room = polite.room("shared");
    const got: number[] = [];
    room.on("n", (n) => got.push(n));
    await room.subscribe();

    const flooder = await connect(dev.publishableKey);
    const notices: WireError[] = [];
    flooder.on("notice", (n: WireError) => notices.push(n));
    const closed = new Promise<string>((r) => flooder.once("disconnect", r));
    const flooderAcks: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      flooderAcks.push(
        ack(flooder, "publish", { room: "shared", event: "flood", data: i, id: `f${i}` }).catch(
          () => "no ack",
        ),
      );
    }
    const politeSends = (async () => {
      for (let n = 1; n <= 6; n++) {
        await room.publish("n", n);
        await sleep(250);
      }
    })();

    expect(await closed).toBe("io server disconnect");
    expect(notices).toEqual([expect.objectContaining({ code: "RATE_LIMITED", retry: "backoff" })]);
    const answered = (await Promise.all(flooderAcks)).filter((a) => a !== "no ack") as { ok: boolean }[];
    // It was told before being cut off: its first 5 went through, then refusals.
    expect(answered.filter((a) => a.ok)).toHaveLength(5);
    expect(answered.filter((a) => !a.ok).length).toBeGreaterThan(15);

    await politeSends;
    await poll("the polite client's own messages", () => got.length).toBe(6);
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(polite.state).toBe("connected");
  });
});

describe("noisy neighbour", () => {
  it("an app flooding REST at 10x its rate is refused (429) while another app's messages all arrive", async () => {
    const noisy = await p.developer();
    const quiet = await p.developer();
    const perSecond = 5;
    await setLimits(db, noisy, { restPublishesPerSecond: perSecond });

    const watcher = p.client({ key: quiet.publishableKey });
    const received: unknown[] = [];
    const room = watcher.room("public:quiet");
    room.on("*", (data) => received.push(data));
    await room.subscribe();

    const seconds = 3;
    const statuses: number[] = [];
    let floodMs = 0;
    const flood = (async () => {
      const sends: Promise<void>[] = [];
      const started = Date.now();
      // 10× its rate: one request every 1000 / (10 × 5) = 20 ms, on a schedule (a late
      // timer on a busy machine does not slow the flood down).
      const everyMs = 1000 / (perSecond * 10);
      for (let i = 0; i < seconds * perSecond * 10; i++) {
        sends.push(
          restPublish(p.urls.rest, noisy, { room: "spam", event: "e", data: i }).then((r) => {
            statuses.push(r.status);
          }),
        );
        await sleep(Math.max(0, started + (i + 1) * everyMs - Date.now()));
      }
      await Promise.all(sends);
      floodMs = Date.now() - started;
    })();
    const quietSent: number[] = [];
    const quietSends = (async () => {
      for (let n = 1; n <= 12; n++) {
        const res = await restPublish(p.urls.rest, quiet, { room: "public:quiet", event: "n", data: n });
        expect(res.status).toBe(202);
        quietSent.push(n);
        await sleep(200);
      }
    })();
    await Promise.all([flood, quietSends]);

    const accepted = statuses.filter((s) => s === 202).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(accepted + limited).toBe(statuses.length);
    // Fixed one-second windows: at most perSecond in each window the flood touched (as
    // many as the seconds it lasted, plus one it started part-way into; `seconds` + 2
    // when it took its planned time, more only on a machine too slow to keep the pace).
    expect(accepted).toBeLessThanOrEqual(perSecond * (Math.max(seconds, Math.ceil(floodMs / 1000)) + 2));
    expect(limited).toBeGreaterThan(statuses.length / 2);

    await poll("every message of the quiet app", () => received.length).toBe(12);
    expect(received).toEqual(quietSent);
  });
});
