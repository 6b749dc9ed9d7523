import { verifyWebhook, WebhookVerificationError } from "@relaybase/sdk/server";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  consoleClient,
  relaybaseCodeOf,
  startWebhookReceiver,
  uniqueEmail,
  useControlPlane,
  type WebhookReceiver,
} from "../testing/harness.js";
import type { HostLookup } from "./url-safety.js";

/** Integration tests of the control plane's webhooks with a real receiver (docs/webhooks.md). */

async function signedIn(url: string) {
  const { client } = consoleClient(url);
  await client.auth.signup.mutate({ email: uniqueEmail("hooks"), password: "a long password" });
  return client;
}

/** Receivers on loopback need both operator switches (self-hosting, tests). */
const LOCAL = {
  WEBHOOK_ALLOW_HTTP: "true",
  WEBHOOK_ALLOW_PRIVATE_URLS: "true",
  WEBHOOK_RETRY_SCHEDULE_MS: "30,30,30,30,30,30",
  WEBHOOK_POLL_MS: "20",
};

describe("webhook endpoints and delivery (pglite, dispatcher in process)", () => {
  const cp = useControlPlane("pglite", LOCAL);
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
  });
  afterAll(() => receiver.close());

  it("manages endpoints for members only, shows the secret once and keeps to the plan's endpoint limit", async () => {
    const owner = await signedIn(cp.server.url);
    const stranger = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Hooks" });
    const created = await owner.webhooks.create.mutate({
      appId: app.id,
      url: receiver.url,
      events: ["presence.member_added", "client.published"],
      clientRooms: ["chat:*"],
    });
    expect(created.secret).toMatch(/^whsec_/);
    expect(created.endpoint).toMatchObject({ url: receiver.url, enabled: true, clientRooms: ["chat:*"] });
    const listed = await owner.webhooks.list.query({ appId: app.id });
    expect(listed.map((e) => e.id)).toEqual([created.endpoint.id]);
    expect(JSON.stringify(listed)).not.toContain(created.secret.slice(6));
    // The nodes' filter follows the endpoints.
    expect((await cp.server.directory.byId(app.id))?.webhooks).toEqual({
      events: ["client.published", "presence.member_added"],
      clientRooms: ["chat:*"],
    });

    expect(await relaybaseCodeOf(stranger.webhooks.list.query({ appId: app.id }))).toBe("NOT_FOUND");
    const strangerApp = (await stranger.apps.create.mutate({ name: "Other" })).app;
    expect(
      await relaybaseCodeOf(
        stranger.webhooks.testSend.mutate({ appId: strangerApp.id, endpointId: created.endpoint.id }),
      ),
    ).toBe("NOT_FOUND");

    await owner.webhooks.create.mutate({ appId: app.id, url: receiver.url, events: ["client.published"] });
    // The free plan's webhookEndpoints is 2.
    expect(
      await relaybaseCodeOf(
        owner.webhooks.create.mutate({ appId: app.id, url: receiver.url, events: ["client.published"] }),
      ),
    ).toBe("BAD_REQUEST");

    await owner.webhooks.update.mutate({ appId: app.id, endpointId: created.endpoint.id, enabled: false });
    // Left: one endpoint for client.published with no room pattern, which wants nothing.
    expect((await cp.server.directory.byId(app.id))?.webhooks).toBeUndefined();
    await owner.webhooks.delete.mutate({ appId: app.id, endpointId: created.endpoint.id });
    expect((await owner.webhooks.list.query({ appId: app.id })).length).toBe(1);
  });

  it("signs what it sends: verifyWebhook accepts it, a tampered body or an old timestamp fail", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Signed" });
    const { endpoint, secret } = await owner.webhooks.create.mutate({
      appId: app.id,
      url: receiver.url,
      events: ["presence.member_added"],
    });
    const { eventId } = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
    await expect
      .poll(() => receiver.received.find((r) => r.events.some((e) => e.id === eventId)))
      .toBeDefined();
    const got = receiver.received.find((r) => r.events.some((e) => e.id === eventId))!;
    const headers = got.headers as Record<string, string>;

    const body = await verifyWebhook({ headers, body: got.body }, secret);
    expect(body.events).toEqual([
      expect.objectContaining({
        id: eventId,
        type: "webhook.test",
        appId: app.id,
        data: expect.objectContaining({ endpointId: endpoint.id }),
      }),
    ]);
    expect(Date.parse(body.events[0]!.time)).not.toBeNaN();
    // As a Fetch Request too.
    const request = new Request("http://x/hooks", { method: "POST", headers, body: got.body });
    expect((await verifyWebhook(request, secret)).events[0]!.id).toBe(eventId);

    const tampered = got.body.replace(endpoint.id, "whe_someoneelse");
    await expect(verifyWebhook({ headers, body: tampered }, secret)).rejects.toBeInstanceOf(
      WebhookVerificationError,
    );
    await expect(
      verifyWebhook({ headers, body: got.body }, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ).rejects.toThrow();
    // Correctly signed, but 10 minutes old: replayed requests are refused.
    const old = new Date(Date.now() - 600_000);
    const oldHeaders = {
      ...headers,
      "webhook-timestamp": String(Math.floor(old.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(headers["webhook-id"]!, old, got.body),
    };
    await expect(verifyWebhook({ headers: oldHeaders, body: got.body }, secret)).rejects.toThrow(/too old/i);

    // A rotation: both secrets sign during the overlap.
    const rotated = await owner.webhooks.rotateSecret.mutate({ appId: app.id, endpointId: endpoint.id });
    const again = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
    await expect
      .poll(() => receiver.received.find((r) => r.events.some((e) => e.id === again.eventId)))
      .toBeDefined();
    const next = receiver.received.find((r) => r.events.some((e) => e.id === again.eventId))!;
    const nextRequest = { headers: next.headers as Record<string, string>, body: next.body };
    expect((await verifyWebhook(nextRequest, rotated.secret)).events[0]!.id).toBe(again.eventId);
    expect((await verifyWebhook(nextRequest, secret)).events[0]!.id).toBe(again.eventId);
    expect(rotated.previousSecretExpiresAt).not.toBeNull();
  });

  it("retries a receiver that answers 500 five times, then delivers once with every attempt logged", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Retry" });
    const flaky = await startWebhookReceiver();
    try {
      flaky.respond = ({ index }) => (index < 5 ? 500 : 200);
      const { endpoint } = await owner.webhooks.create.mutate({
        appId: app.id,
        url: flaky.url,
        events: ["presence.member_added"],
      });
      const { eventId } = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
      await expect.poll(() => flaky.acceptedEventIds()).toEqual([eventId]);
      expect(flaky.received.map((r) => r.status)).toEqual([500, 500, 500, 500, 500, 200]);
      // The same event (same id, same body) each time.
      expect(new Set(flaky.received.map((r) => r.body)).size).toBe(1);

      const log = await owner.webhooks.deliveries.query({ appId: app.id, endpointId: endpoint.id });
      expect(log.deliveries).toHaveLength(1);
      expect(log.deliveries[0]).toMatchObject({
        eventId,
        status: "delivered",
        attempts: 6,
        lastStatusCode: 200,
      });
      const detail = await owner.webhooks.delivery.query({
        appId: app.id,
        deliveryId: log.deliveries[0]!.id,
      });
      expect(detail.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 500, 500, 200]);
      expect(detail.attempts[0]!.response).toBe("answered 500");
      expect(detail.attempts.every((a) => a.latencyMs >= 0)).toBe(true);
    } finally {
      await flaky.close();
    }
  });
});

describe("the 80% quota notice as a webhook event", () => {
  const cp = useControlPlane("pglite", LOCAL);

  it("sends connection.quota_warning once, when the rollup leaves the 80% notice", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Quota" });
    const receiver = await startWebhookReceiver();
    try {
      const { endpoint } = await owner.webhooks.create.mutate({
        appId: app.id,
        url: receiver.url,
        events: ["connection.quota_warning"],
      });
      const limit = (await owner.apps.limits.query({ appId: app.id })).limits.messagesPerDay;
      const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      const batch = (published: number, id: string) => ({
        id,
        deltas: [{ appId: app.id, hour, published, delivered: 0, bytesPublished: 0, bytesDelivered: 0 }],
      });
      await cp.server.controlPlane.usage.record(batch(Math.ceil(limit * 0.8), "b1"));
      await cp.server.controlPlane.usage.record(batch(10, "b2"));
      // A marker after both rollups: an endpoint's events arrive in order, so a second warning would precede it.
      const marker = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
      await expect.poll(() => receiver.acceptedEventIds()).toContain(marker.eventId);
      const warnings = receiver.received.flatMap((r) => r.events).filter((e) => e.type !== "webhook.test");
      expect(warnings).toHaveLength(1);
      const [event] = warnings;
      expect(event).toMatchObject({
        type: "connection.quota_warning",
        appId: app.id,
        data: { quota: "messagesPerDay", day: new Date(hour).toISOString().slice(0, 10), limit },
      });
      expect((event!.data as { used: number }).used).toBeGreaterThanOrEqual(limit * 0.8);
      expect((await owner.usage.notices.query({ appId: app.id })).length).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});

describe("dead letters and replay (pglite, a two-retry schedule)", () => {
  const cp = useControlPlane("pglite", { ...LOCAL, WEBHOOK_RETRY_SCHEDULE_MS: "20,20" });

  it("dead-letters after the schedule runs out; replay from tRPC then delivers", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Dead" });
    const down = await startWebhookReceiver();
    try {
      down.respond = () => 503;
      const { endpoint } = await owner.webhooks.create.mutate({
        appId: app.id,
        url: down.url,
        events: ["presence.member_added"],
      });
      const first = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
      const second = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
      await expect
        .poll(
          async () =>
            (await owner.webhooks.deliveries.query({ appId: app.id, status: "dead" })).deliveries.length,
        )
        .toBe(2);
      const dead = (await owner.webhooks.deliveries.query({ appId: app.id, status: "dead" })).deliveries;
      expect(dead.every((d) => d.attempts === 3 && d.lastStatusCode === 503)).toBe(true);
      expect(down.acceptedEventIds()).toEqual([]);

      down.respond = () => 204;
      // One by id first, then all that are left.
      await owner.webhooks.replay.mutate({
        appId: app.id,
        deliveryId: dead.find((d) => d.eventId === first.eventId)!.id,
      });
      await expect.poll(() => down.acceptedEventIds()).toEqual([first.eventId]);
      expect(await owner.webhooks.replayDead.mutate({ appId: app.id })).toEqual({ replayed: 1 });
      await expect.poll(() => down.acceptedEventIds()).toEqual([first.eventId, second.eventId]);
      const after = await owner.webhooks.deliveries.query({ appId: app.id });
      expect(after.deliveries.map((d) => d.status)).toEqual(["delivered", "delivered"]);
    } finally {
      await down.close();
    }
  });
});

describe("an endpoint failing for WEBHOOK_DISABLE_AFTER_MS (shortened to 1 s)", () => {
  const cp = useControlPlane("pglite", {
    ...LOCAL,
    WEBHOOK_RETRY_SCHEDULE_MS: "200,200,200,200,200,200,200,200,200,200",
    WEBHOOK_DISABLE_AFTER_MS: "1000",
  });

  it("is disabled with a notice; its events wait, and enabling it delivers them", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Failing" });
    const down = await startWebhookReceiver();
    try {
      down.respond = () => 500;
      const { endpoint } = await owner.webhooks.create.mutate({
        appId: app.id,
        url: down.url,
        events: ["presence.member_added"],
      });
      expect((await cp.server.directory.byId(app.id))?.webhooks?.events).toEqual(["presence.member_added"]);
      const { eventId } = await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
      await expect
        .poll(async () => (await owner.webhooks.list.query({ appId: app.id }))[0]?.enabled, {
          timeout: 20_000,
        })
        .toBe(false);
      const [disabled] = await owner.webhooks.list.query({ appId: app.id });
      expect(disabled!.disabledReason).toMatch(/^Every request failed for 1 s \(last: answered 500\)/);
      const notices = await owner.usage.notices.query({ appId: app.id });
      expect(notices.map((n) => n.kind)).toEqual([`webhook_endpoint_disabled:${endpoint.id}`]);
      // Nodes stop sending what only this endpoint wanted.
      await expect.poll(async () => (await cp.server.directory.byId(app.id))?.webhooks).toBeUndefined();
      const [pending] = (await owner.webhooks.deliveries.query({ appId: app.id })).deliveries;
      expect(pending).toMatchObject({ eventId, status: "pending" });

      down.respond = () => 200;
      await owner.webhooks.update.mutate({ appId: app.id, endpointId: endpoint.id, enabled: true });
      await expect.poll(() => down.acceptedEventIds()).toEqual([eventId]);
      const [again] = await owner.webhooks.list.query({ appId: app.id });
      expect(again).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    } finally {
      await down.close();
    }
  });
});

/** Names that resolve as a test says: one public answer at first, then a private one (DNS rebinding). */
function rebindingLookup(): { lookup: HostLookup; answers: Map<string, string[]> } {
  const answers = new Map<string, string[]>([
    ["metadata.example.test", ["169.254.169.254"]],
    ["intranet.example.test", ["10.0.0.1"]],
    ["rebind.example.test", ["93.184.216.34", "10.0.0.1"]],
  ]);
  const lookup: HostLookup = async (host) => {
    const queue = answers.get(host);
    if (!queue || queue.length === 0) throw new Error(`ENOTFOUND ${host}`);
    const address = queue.length > 1 ? queue.shift()! : queue[0]!;
    return [{ address, family: 4 }];
  };
  return { lookup, answers };
}

describe("hosted mode: https only, no private addresses, at creation and at delivery", () => {
  const { lookup } = rebindingLookup();
  const cp = useControlPlane(
    "pglite",
    { WEBHOOK_POLL_MS: "20", WEBHOOK_RETRY_SCHEDULE_MS: "20" },
    {
      webhookLookup: lookup,
    },
  );

  it("refuses http, metadata and private addresses when an endpoint is saved", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Hosted" });
    const create = (url: string) =>
      relaybaseCodeOf(owner.webhooks.create.mutate({ appId: app.id, url, events: ["client.published"] }));
    for (const url of [
      "http://93.184.216.34/hooks",
      "https://169.254.169.254/latest/meta-data",
      "https://10.0.0.1/hooks",
      "https://127.0.0.1/hooks",
      "https://[::1]/hooks",
      "https://[::ffff:10.0.0.1]/hooks",
      "https://metadata.example.test/",
      "https://intranet.example.test/",
      "https://user:pw@93.184.216.34/",
      "ftp://93.184.216.34/",
      "not a url",
    ]) {
      expect(await create(url), url).toBe("BAD_REQUEST");
    }
  });

  it("checks again at delivery: a name that now resolves to 10.0.0.1 is refused, never connected to", async () => {
    const owner = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Rebind" });
    // Resolves to a public address while saved…
    const { endpoint } = await owner.webhooks.create.mutate({
      appId: app.id,
      url: "https://rebind.example.test/hooks",
      events: ["client.published"],
    });
    // …and to 10.0.0.1 from then on.
    await owner.webhooks.testSend.mutate({ appId: app.id, endpointId: endpoint.id });
    await expect
      .poll(async () => (await owner.webhooks.deliveries.query({ appId: app.id })).deliveries[0]?.status)
      .toBe("dead");
    const [delivery] = (await owner.webhooks.deliveries.query({ appId: app.id })).deliveries;
    expect(delivery).toMatchObject({ lastStatusCode: null, attempts: 2 });
    expect(delivery!.lastError).toMatch(/resolves to 10\.0\.0\.1/);
  });
});
