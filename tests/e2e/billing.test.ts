/**
 * Billing end to end: the real all-in-one platform with Stripe pointed at a local
 * stand-in (Stripe itself cannot be reached from CI). A plan bought through Checkout and
 * confirmed by a signed webhook reaches the running REST API and realtime node at once.
 */

import { type StripeStandIn, startStripeStandIn } from "@relaybase/control-plane/testing";
import { PLANS } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll, until } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

const PRICE_PRO = "price_e2e_pro";
const PRICE_SCALE = "price_e2e_scale";
const WEBHOOK_SECRET = "whsec_e2e_billing";
const CONSOLE = "http://localhost:5173/billing";

let stripe: StripeStandIn;
let p: TestPlatform;
beforeAll(async () => {
  stripe = await startStripeStandIn({ secretKey: "sk_test_e2e_billing" });
  p = await startTestPlatform({
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_PRICE_PRO: PRICE_PRO,
    STRIPE_PRICE_SCALE: PRICE_SCALE,
    STRIPE_API_URL: stripe.url,
  });
});
afterAll(async () => {
  await p?.close();
  await stripe?.close();
});

describe("billing", () => {
  it("a scale subscription confirmed by Stripe lifts the message size limit on the running platform", async () => {
    const dev = await p.developer();
    const room = "public:big";
    const data = { blob: "x".repeat(100 * 1024) }; // 100 KiB: over free's 64 KiB, under scale's 256 KiB
    expect(PLANS.free.maxMessageBytes).toBeLessThan(100 * 1024);
    expect(PLANS.scale.maxMessageBytes).toBeGreaterThan(100 * 1024);
    const publish = () =>
      fetch(`${p.urls.rest}/v1/apps/${dev.appId}/publish`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${dev.secret}` },
        body: JSON.stringify({ room, event: "big", data }),
      });

    const client = p.client({ key: dev.publishableKey });
    const got: unknown[] = [];
    client.room(room).on("big", (payload) => got.push(payload));
    await client.room(room).subscribe();

    const refused = await publish();
    expect(refused.status).toBe(413);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("MESSAGE_TOO_LARGE");

    // The owner picks scale in the console: Checkout on Stripe (here the stand-in).
    const before = await dev.trpc.billing.status.query();
    expect(before).toMatchObject({ enabled: true, org: { plan: "free" }, canManage: true });
    const orgId = before.org.id;
    const { url } = await dev.trpc.billing.checkout.mutate({
      plan: "scale",
      successUrl: `${CONSOLE}?done=1`,
      cancelUrl: CONSOLE,
    });
    expect(url.startsWith(`${stripe.url}/c/pay/`)).toBe(true);
    const session = stripe.requests.find(
      (r) => r.path === "/v1/checkout/sessions" && r.params.client_reference_id === orgId,
    );
    expect(session?.params["line_items[0][price]"]).toBe(PRICE_SCALE);

    // The customer pays; Stripe's subscription is active on the scale price and Stripe sends the event.
    const subscription = stripe.setSubscription({
      customer: session!.params.customer!,
      price: PRICE_SCALE,
      status: "active",
    });
    const delivery = stripe.webhook("customer.subscription.updated", subscription, WEBHOOK_SECRET);
    const hook = await fetch(`${p.urls.controlPlane}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": delivery.signature },
      body: delivery.payload,
    });
    expect(hook.status).toBe(200);
    expect(await dev.trpc.billing.status.query()).toMatchObject({
      org: { plan: "scale" },
      subscription: { id: subscription.id, status: "active" },
    });

    // Same platform, no restart: the same publish now goes through and reaches the subscriber.
    let accepted: Response | undefined;
    await until(async () => {
      accepted = await publish();
      return accepted.status !== 413;
    }, "the scale limits to reach the REST API");
    expect(accepted?.status).toBe(202);
    await poll("the 100 KiB message", () => got.length).toBe(1);
    expect(got[0]).toEqual(data);
  });
});
