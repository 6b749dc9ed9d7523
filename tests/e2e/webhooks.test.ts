import { startWebhookReceiver, type WebhookReceiver } from "@relaybase/control-plane/testing";
import { verifyWebhook, type WebhookEvent } from "@relaybase/sdk/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

/**
 * Webhooks on the embedded platform (`npm start`): presence and client events caused on
 * the realtime node reach a real receiver, signed, through the outbox in PGlite.
 */
let p: TestPlatform;
let receiver: WebhookReceiver;
beforeAll(async () => {
  // The receiver is on loopback over http: the operator switches self-hosters and tests use.
  p = await startTestPlatform({
    ROOM_WEBHOOK_DEBOUNCE_MS: "300",
    WEBHOOK_ALLOW_HTTP: "true",
    WEBHOOK_ALLOW_PRIVATE_URLS: "true",
    WEBHOOK_POLL_MS: "50",
  });
  receiver = await startWebhookReceiver();
}, 60_000);
afterAll(async () => {
  await receiver?.close();
  await p?.close();
}, 30_000);

describe("webhook events from the realtime node (embedded)", () => {
  it("sends member_added, client.published (opted-in rooms only) and member_removed, each verifiable", async () => {
    const dev = await p.developer();
    const { secret } = await dev.trpc.webhooks.create.mutate({
      appId: dev.appId,
      url: receiver.url,
      events: ["presence.member_added", "presence.member_removed", "client.published"],
      clientRooms: ["chat:*"],
    });
    const { token } = await dev.server.createToken({
      userId: "ann",
      capabilities: { "team:*": ["subscribe", "presence"], "*": ["subscribe", "publish"] },
    });
    const ann = p.client({ key: dev.publishableKey, getToken: async () => token });
    await ann.room("team:1").presence.enter({ role: "lead" });
    await ann.room("chat:1").publish("said", { text: "hello" });
    await ann.room("other:1").publish("said", { text: "not for webhooks" });
    await ann.room("chat:2").publish("said", { text: "marker" });
    await ann.room("team:1").presence.leave();

    const events = async (): Promise<WebhookEvent[]> => {
      const out: WebhookEvent[] = [];
      // The receiver is shared by the tests: only this app's requests carry this secret.
      for (const r of receiver.received.filter((x) => x.body.includes(dev.appId))) {
        const body = await verifyWebhook(
          { headers: r.headers as Record<string, string>, body: r.body },
          secret,
        );
        out.push(...body.events.filter((e) => e.appId === dev.appId));
      }
      return out;
    };
    await expect
      .poll(async () => (await events()).map((e) => e.type).sort())
      .toEqual(["client.published", "client.published", "presence.member_added", "presence.member_removed"]);
    const got = await events();
    const published = got.filter((e) => e.type === "client.published").map((e) => e.data);
    expect(published).toEqual([
      expect.objectContaining({
        room: "chat:1",
        event: "said",
        data: { text: "hello" },
        offset: 1,
        userId: "ann",
      }),
      expect.objectContaining({ room: "chat:2", event: "said", data: { text: "marker" }, userId: "ann" }),
    ]);
    expect(got.find((e) => e.type === "presence.member_added")?.data).toEqual({
      room: "team:1",
      userId: "ann",
      connectionId: ann.connectionId,
      data: { role: "lead" },
    });
    expect(got.find((e) => e.type === "presence.member_removed")?.data).toMatchObject({
      room: "team:1",
      userId: "ann",
    });
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
  });

  it("room.occupied when the first subscriber comes, room.vacated when the last leaves; a quick rejoin sends neither", async () => {
    const dev = await p.developer();
    const { secret } = await dev.trpc.webhooks.create.mutate({
      appId: dev.appId,
      url: receiver.url,
      events: ["room.occupied", "room.vacated"],
    });
    const token = async (userId: string) =>
      (await dev.server.createToken({ userId, capabilities: { "lobby:*": ["subscribe"] } })).token;
    const ann = p.client({ key: dev.publishableKey, getToken: () => token("ann") });
    const ben = p.client({ key: dev.publishableKey, getToken: () => token("ben") });
    const seen = async () => {
      const out: string[] = [];
      // The receiver is shared by the tests: only this app's requests carry this secret.
      for (const r of receiver.received.filter((x) => x.body.includes(dev.appId))) {
        const body = await verifyWebhook(
          { headers: r.headers as Record<string, string>, body: r.body },
          secret,
        );
        for (const e of body.events)
          if (e.appId === dev.appId) out.push(`${e.type} ${(e.data as { room: string }).room}`);
      }
      return out;
    };
    await ann.room("lobby:1").subscribe();
    await ben.room("lobby:1").subscribe();
    await expect.poll(seen).toEqual(["room.occupied lobby:1"]);
    const occupied = receiver.received.flatMap((r) => r.events).find((e) => e.appId === dev.appId);
    expect(occupied?.data).toEqual({ room: "lobby:1", subscribers: 2 });

    // Both leave and one comes back within the debounce (a reconnect): nothing is sent.
    await ann.room("lobby:1").unsubscribe();
    await ben.room("lobby:1").unsubscribe();
    await ann.room("lobby:1").subscribe();
    // A marker room: judged after lobby:1 would be, so anything lobby:1 caused comes first.
    await ben.room("lobby:2").subscribe();
    await expect.poll(seen).toEqual(["room.occupied lobby:1", "room.occupied lobby:2"]);

    await ann.room("lobby:1").unsubscribe();
    await expect
      .poll(seen)
      .toEqual(["room.occupied lobby:1", "room.occupied lobby:2", "room.vacated lobby:1"]);
  });
});
