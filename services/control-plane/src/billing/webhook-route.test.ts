import { PLANS } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  consoleClient,
  createTestDatabase,
  DB_MODES,
  type RunningControlPlane,
  relaybaseCodeOf,
  startControlPlane,
  type TestDatabase,
  uniqueEmail,
} from "../testing/harness.js";
import { type StripeStandIn, startStripeStandIn } from "../testing/stripe-stand-in.js";

const WEBHOOK_SECRET = "whsec_route_test_secret";
const PRICE_PRO = "price_pro_route";
const RETURN = "http://localhost:5173/billing";

async function postWebhook(baseUrl: string, body: string, headers: Record<string, string>) {
  const res = await fetch(`${baseUrl}/webhooks/stripe`, { method: "POST", body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe.each(DB_MODES)("POST /webhooks/stripe over HTTP (%s)", (mode) => {
  let stripe: StripeStandIn;
  let databases: TestDatabase[] = [];
  let server: RunningControlPlane;
  let withoutBilling: RunningControlPlane;

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    databases = await Promise.all([createTestDatabase(mode), createTestDatabase(mode)]);
    server = await startControlPlane(databases[0]!, {
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_PRO: PRICE_PRO,
      STRIPE_PRICE_SCALE: "price_scale_route",
      STRIPE_API_URL: stripe.url,
    });
    withoutBilling = await startControlPlane(databases[1]!);
  });
  afterAll(async () => {
    await server?.close();
    await withoutBilling?.close();
    for (const database of databases) await database.drop();
    await stripe?.close();
  });

  async function developer(url: string) {
    const { client } = consoleClient(url);
    await client.auth.signup.mutate({ email: uniqueEmail("hook"), password: "a long password" });
    const { app } = await client.apps.create.mutate({ name: "billed" });
    return { client, appId: app.id };
  }

  it("verifies the exact bytes, applies the re-read subscription and re-puts the org's apps", async () => {
    const { client, appId } = await developer(server.url);
    await client.billing.checkout.mutate({ plan: "pro", successUrl: RETURN, cancelUrl: RETURN });
    const customer = stripe.requests.findLast((r) => r.path === "/v1/checkout/sessions")!.params.customer!;
    const subscription = stripe.setSubscription({ customer, price: PRICE_PRO, status: "active" });
    // Pretty-printed JSON: any re-serialisation on the way would break the signature.
    const delivery = stripe.webhook("customer.subscription.updated", subscription, WEBHOOK_SECRET);
    expect(delivery.payload).toContain("\n  ");
    const json = { "content-type": "application/json; charset=utf-8" };

    const forged = await postWebhook(server.url, delivery.payload, {
      ...json,
      "stripe-signature": stripe.webhook("customer.subscription.updated", subscription, "whsec_wrong")
        .signature,
    });
    expect(forged).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    const unsigned = await postWebhook(server.url, delivery.payload, json);
    expect(unsigned).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    expect((await client.billing.status.query()).org.plan).toBe("free");
    expect((await server.directory.byId(appId))?.limits).toEqual(PLANS.free);

    const ok = await postWebhook(server.url, delivery.payload, {
      ...json,
      "stripe-signature": delivery.signature,
    });
    expect(ok).toEqual({ status: 200, body: { received: true, handled: true } });
    expect((await client.billing.status.query()).org.plan).toBe("pro");
    expect((await server.directory.byId(appId))?.limits).toEqual(PLANS.pro);
  });

  it("answers 200 to events it does not use", async () => {
    const delivery = stripe.webhook("charge.succeeded", { id: "ch_1", object: "charge" }, WEBHOOK_SECRET);
    const res = await postWebhook(server.url, delivery.payload, {
      "content-type": "application/json",
      "stripe-signature": delivery.signature,
    });
    expect(res).toEqual({ status: 200, body: { received: true, handled: false } });
  });

  it("without STRIPE_SECRET_KEY: webhook 501 BILLING_DISABLED, billing procedures too, plans unchanged", async () => {
    const { client } = await developer(withoutBilling.url);
    const delivery = stripe.webhook("customer.subscription.updated", { id: "sub_x" }, WEBHOOK_SECRET);
    const res = await postWebhook(withoutBilling.url, delivery.payload, {
      "content-type": "application/json",
      "stripe-signature": delivery.signature,
    });
    expect(res).toMatchObject({
      status: 501,
      body: {
        error: {
          code: "BILLING_DISABLED",
          message: "Billing is not configured on this server",
          retry: "never",
        },
      },
    });
    expect(await client.billing.status.query()).toMatchObject({ enabled: false, org: { plan: "free" } });
    expect(
      await relaybaseCodeOf(
        client.billing.checkout.mutate({ plan: "scale", successUrl: RETURN, cancelUrl: RETURN }),
      ),
    ).toBe("BILLING_DISABLED");
  });
});
