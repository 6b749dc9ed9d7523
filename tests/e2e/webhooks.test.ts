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
      for (const r of receiver.received) {
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
});
