import { RelaybaseError } from "@relaybase/protocol";
import { createLogger, MemoryTenantDirectory, PLANS } from "@relaybase/server-kit";
import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../config.js";
import { memberships, orgs } from "../db/schema.js";
import { type OpenedServices, openServices } from "../services.js";
import { createTestDatabase, DB_MODES, type TestDatabase, uniqueEmail } from "../testing/harness.js";
import { type StripeStandIn, startStripeStandIn } from "../testing/stripe-stand-in.js";
import type { Context, Services } from "../trpc/context.js";
import { relaybaseCodeOf } from "../trpc/errors.js";
import { appRouter } from "../trpc/router.js";
import { createCallerFactory } from "../trpc/trpc.js";
import { createBilling } from "./index.js";

const createCaller = createCallerFactory(appRouter);
const logger = createLogger("billing-test", "silent");

const PRICE_PRO = "price_pro_test";
const PRICE_SCALE = "price_scale_test";
const WEBHOOK_SECRET = "whsec_billing_test_secret";
const RETURN = "https://console.example.com/billing";

/** The Relaybase code of a failed call, whether tRPC or a direct billing call. */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof TRPCError) return relaybaseCodeOf(err);
    if (err instanceof RelaybaseError) return err.code;
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe.each(DB_MODES)("billing with Stripe (%s)", (mode) => {
  let database: TestDatabase;
  let opened: OpenedServices;
  let stripe: StripeStandIn;
  const directory = new MemoryTenantDirectory();

  /** A caller with its own cookie, as one browser would have. */
  function browser(services: Services = opened.services) {
    let session: string | undefined;
    const ctx: Context = {
      services,
      log: logger,
      ip: "203.0.113.9",
      cookie: {
        read: () => session,
        set: (token) => {
          session = token;
        },
        clear: () => {
          session = undefined;
        },
      },
    };
    return createCaller(ctx);
  }

  /** A developer who signed up (owner of a personal org) with two apps. */
  async function owner() {
    const caller = browser();
    const me = await caller.auth.signup({ email: uniqueEmail("owner"), password: "a long password" });
    const orgId = me.orgs[0]!.id;
    const apps = [
      (await caller.apps.create({ name: "one" })).app.id,
      (await caller.apps.create({ name: "two" })).app.id,
    ];
    return { caller, orgId, apps, userId: me.user.id };
  }

  async function orgRow(orgId: string) {
    const [row] = await opened.services.db.select().from(orgs).where(eq(orgs.id, orgId));
    return row!;
  }

  /** An owner who went through Checkout: the org has its Stripe customer. */
  async function customerOwner() {
    const dev = await owner();
    await dev.caller.billing.checkout({ plan: "pro", successUrl: RETURN, cancelUrl: RETURN });
    const customer = (await orgRow(dev.orgId)).stripeCustomerId!;
    return { ...dev, customer };
  }

  function deliver(type: string, object: Record<string, unknown>, secret = WEBHOOK_SECRET) {
    const { payload, signature } = stripe.webhook(type, object, secret);
    return opened.services.billing.handleWebhook(Buffer.from(payload), signature);
  }

  async function limitsOf(appIds: string[]) {
    return Promise.all(appIds.map(async (id) => (await directory.byId(id))?.limits));
  }

  beforeAll(async () => {
    stripe = await startStripeStandIn();
    database = await createTestDatabase(mode);
    const config = loadControlPlaneConfig({
      ...database.env,
      LOG_LEVEL: "silent",
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_PRO: PRICE_PRO,
      STRIPE_PRICE_SCALE: PRICE_SCALE,
      STRIPE_API_URL: stripe.url,
    });
    opened = await openServices({ config, directory, logger });
  });
  afterAll(async () => {
    await opened?.database.close();
    await database?.drop();
    await stripe?.close();
  });

  it("status: billing on, the org's plan, and every plan with its limits", async () => {
    const { caller, orgId } = await owner();
    expect(await caller.billing.status()).toEqual({
      enabled: true,
      org: { id: orgId, name: expect.any(String), plan: "free", role: "owner" },
      subscription: null,
      hasBillingAccount: false,
      canManage: true,
      plans: [
        { id: "free", limits: PLANS.free, purchasable: false },
        { id: "pro", limits: PLANS.pro, purchasable: true },
        { id: "scale", limits: PLANS.scale, purchasable: true },
      ],
    });
  });

  it("checkout creates the org's customer once, stores it before the session, and returns the session url", async () => {
    const { caller, orgId } = await owner();
    const first = await caller.billing.checkout({
      plan: "pro",
      successUrl: RETURN,
      cancelUrl: `${RETURN}?c`,
    });
    expect(first.url).toMatch(new RegExp(`^${stripe.url}/c/pay/cs_test_`));
    const customer = (await orgRow(orgId)).stripeCustomerId;
    expect(customer).toMatch(/^cus_/);

    const second = await caller.billing.checkout({
      orgId,
      plan: "scale",
      successUrl: RETURN,
      cancelUrl: RETURN,
    });
    expect(second.url).not.toBe(first.url);

    const customerCalls = stripe.requests.filter(
      (r) => r.path === "/v1/customers" && r.params["metadata[orgId]"] === orgId,
    );
    expect(customerCalls).toHaveLength(1);
    const sessions = stripe.requests.filter(
      (r) => r.path === "/v1/checkout/sessions" && r.params.client_reference_id === orgId,
    );
    expect(sessions.map((s) => s.params)).toEqual([
      expect.objectContaining({
        mode: "subscription",
        customer,
        "line_items[0][price]": PRICE_PRO,
        "line_items[0][quantity]": "1",
        "metadata[orgId]": orgId,
        "subscription_data[metadata][orgId]": orgId,
        success_url: RETURN,
        cancel_url: `${RETURN}?c`,
      }),
      expect.objectContaining({ customer, "line_items[0][price]": PRICE_SCALE }),
    ]);
    expect(stripe.requests.indexOf(customerCalls[0]!)).toBeLessThan(stripe.requests.indexOf(sessions[0]!));
    // Checkout alone changes no plan: only Stripe's confirmation does.
    expect((await orgRow(orgId)).plan).toBe("free");
  });

  it("two first checkouts at once end with one customer", async () => {
    const { caller, orgId } = await owner();
    const urls = await Promise.all(
      ["pro", "scale"].map((plan) =>
        caller.billing.checkout({ plan: plan as "pro" | "scale", successUrl: RETURN, cancelUrl: RETURN }),
      ),
    );
    expect(urls).toHaveLength(2);
    const stored = (await orgRow(orgId)).stripeCustomerId;
    const named = stripe.requests
      .filter((r) => r.path === "/v1/checkout/sessions" && r.params.client_reference_id === orgId)
      .map((r) => r.params.customer);
    expect(named).toEqual([stored, stored]);
  });

  it("portal: NOT_FOUND before the org has a customer, then a portal session for it", async () => {
    const { caller, orgId } = await owner();
    expect(await codeOf(caller.billing.portal({ returnUrl: RETURN }))).toBe("NOT_FOUND");
    await caller.billing.checkout({ plan: "pro", successUrl: RETURN, cancelUrl: RETURN });
    const { url } = await caller.billing.portal({ orgId, returnUrl: RETURN });
    expect(url).toMatch(new RegExp(`^${stripe.url}/p/session/bps_`));
    const request = stripe.requests.findLast((r) => r.path === "/v1/billing_portal/sessions");
    expect(request?.params).toEqual({ customer: (await orgRow(orgId)).stripeCustomerId, return_url: RETURN });
  });

  it("only owners may check out or open the portal; other orgs are NOT_FOUND", async () => {
    const { orgId } = await customerOwner();
    const member = browser();
    const me = await member.auth.signup({ email: uniqueEmail("member"), password: "a long password" });
    await opened.services.db.insert(memberships).values({ userId: me.user.id, orgId, role: "member" });

    const status = await member.billing.status({ orgId });
    expect(status).toMatchObject({ org: { id: orgId, role: "member" }, canManage: false });
    expect(
      await codeOf(member.billing.checkout({ orgId, plan: "pro", successUrl: RETURN, cancelUrl: RETURN })),
    ).toBe("FORBIDDEN");
    expect(await codeOf(member.billing.portal({ orgId, returnUrl: RETURN }))).toBe("FORBIDDEN");

    const stranger = (await owner()).caller;
    expect(await codeOf(stranger.billing.status({ orgId }))).toBe("NOT_FOUND");
    expect(
      await codeOf(stranger.billing.checkout({ orgId, plan: "pro", successUrl: RETURN, cancelUrl: RETURN })),
    ).toBe("NOT_FOUND");
    expect(await codeOf(browser().billing.status())).toBe("UNAUTHENTICATED");
  });

  it("rejects return urls that are not http(s)", async () => {
    const { caller } = await owner();
    expect(
      await codeOf(
        caller.billing.checkout({ plan: "pro", successUrl: "javascript:alert(1)", cancelUrl: RETURN }),
      ),
    ).toBe("BAD_REQUEST");
    expect(await codeOf(caller.billing.portal({ returnUrl: "not a url" }))).toBe("BAD_REQUEST");
  });

  it("a webhook with a bad or missing signature is BAD_REQUEST and changes nothing", async () => {
    const { orgId, customer, apps } = await customerOwner();
    const subscription = stripe.setSubscription({ customer, price: PRICE_SCALE, status: "active" });
    const before = stripe.requests.length;

    expect(await codeOf(deliver("customer.subscription.updated", subscription, "whsec_someone_else"))).toBe(
      "BAD_REQUEST",
    );
    const good = stripe.webhook("customer.subscription.updated", subscription, WEBHOOK_SECRET);
    const tampered = good.payload.replace(subscription.id as string, "sub_other");
    expect(await codeOf(opened.services.billing.handleWebhook(Buffer.from(tampered), good.signature))).toBe(
      "BAD_REQUEST",
    );
    expect(await codeOf(opened.services.billing.handleWebhook(Buffer.from(good.payload), undefined))).toBe(
      "BAD_REQUEST",
    );
    const stale = stripe.webhook("customer.subscription.updated", subscription, WEBHOOK_SECRET, {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(
      await codeOf(opened.services.billing.handleWebhook(Buffer.from(stale.payload), stale.signature)),
    ).toBe("BAD_REQUEST");

    expect(stripe.requests.length).toBe(before); // not even a read from Stripe
    expect(await orgRow(orgId)).toMatchObject({ plan: "free", stripeSubscriptionId: null });
    expect(await limitsOf(apps)).toEqual([PLANS.free, PLANS.free]);
  });

  it("customer.subscription.updated: the re-read subscription sets the plan and every app's limits", async () => {
    const { caller, orgId, customer, apps } = await customerOwner();
    const subscription = stripe.setSubscription({ customer, price: PRICE_PRO, status: "active" });
    const outcome = await deliver("customer.subscription.updated", subscription);
    expect(outcome).toMatchObject({ handled: true, orgId, plan: "pro", subscriptionStatus: "active" });
    expect(stripe.requests.at(-1)).toMatchObject({
      method: "GET",
      path: `/v1/subscriptions/${subscription.id}`,
    });

    expect(await orgRow(orgId)).toMatchObject({
      plan: "pro",
      stripeSubscriptionId: subscription.id,
      stripeSubscriptionStatus: "active",
    });
    expect(await limitsOf(apps)).toEqual([PLANS.pro, PLANS.pro]);
    expect((await directory.byId(apps[0]!))?.plan).toBe("pro");
    expect(await caller.billing.status()).toMatchObject({
      org: { plan: "pro" },
      subscription: { id: subscription.id, status: "active" },
      hasBillingAccount: true,
    });

    // At-least-once delivery: the same event again changes nothing more.
    expect(await deliver("customer.subscription.updated", subscription)).toMatchObject({ plan: "pro" });
    expect(await limitsOf(apps)).toEqual([PLANS.pro, PLANS.pro]);
    // A live subscription blocks a second Checkout (it would bill twice).
    expect(
      await codeOf(caller.billing.checkout({ plan: "scale", successUrl: RETURN, cancelUrl: RETURN })),
    ).toBe("CONFLICT");
  });

  it("trusts Stripe, not the event body: the body says scale, Stripe says pro", async () => {
    const { orgId, customer, apps } = await customerOwner();
    const real = stripe.setSubscription({ customer, price: PRICE_PRO, status: "active" });
    const lie = structuredClone(real) as typeof real & { items: { data: Array<{ price: { id: string } }> } };
    lie.items.data[0]!.price.id = PRICE_SCALE;
    expect(await deliver("customer.subscription.updated", lie)).toMatchObject({ plan: "pro" });
    expect((await orgRow(orgId)).plan).toBe("pro");
    expect(await limitsOf(apps)).toEqual([PLANS.pro, PLANS.pro]);

    // Nor the other way round: an event claiming cancellation while Stripe says active.
    expect(await deliver("customer.subscription.deleted", { ...real, status: "canceled" })).toMatchObject({
      plan: "pro",
    });
    expect((await orgRow(orgId)).plan).toBe("pro");
  });

  it("customer.subscription.deleted (Stripe: canceled) puts the org back on free", async () => {
    const { orgId, customer, apps } = await customerOwner();
    const subscription = stripe.setSubscription({ customer, price: PRICE_SCALE, status: "active" });
    await deliver("customer.subscription.created", subscription);
    expect(await limitsOf(apps)).toEqual([PLANS.scale, PLANS.scale]);

    stripe.setSubscription({
      id: subscription.id as string,
      customer,
      price: PRICE_SCALE,
      status: "canceled",
    });
    expect(await deliver("customer.subscription.deleted", subscription)).toMatchObject({
      plan: "free",
      subscriptionStatus: "canceled",
    });
    expect(await orgRow(orgId)).toMatchObject({ plan: "free", stripeSubscriptionStatus: "canceled" });
    expect(await limitsOf(apps)).toEqual([PLANS.free, PLANS.free]);
  });

  it("maps each status: trialing and past_due keep the plan; unpaid, incomplete and paused are free", async () => {
    const { orgId, customer } = await customerOwner();
    const id = stripe.setSubscription({ customer, price: PRICE_PRO, status: "trialing" }).id as string;
    const expected = {
      trialing: "pro",
      past_due: "pro",
      unpaid: "free",
      active: "pro",
      paused: "free",
    } as const;
    for (const [status, plan] of Object.entries(expected)) {
      const subscription = stripe.setSubscription({ id, customer, price: PRICE_PRO, status });
      await deliver("customer.subscription.updated", subscription);
      expect([status, (await orgRow(orgId)).plan]).toEqual([status, plan]);
    }
  });

  it("checkout.session.completed applies the session's subscription as Stripe reports it", async () => {
    const { orgId, customer, apps } = await customerOwner();
    const subscription = stripe.setSubscription({ customer, price: PRICE_SCALE, status: "active" });
    const outcome = await deliver("checkout.session.completed", {
      id: "cs_test_done",
      object: "checkout.session",
      mode: "subscription",
      customer,
      client_reference_id: orgId,
      subscription: subscription.id,
    });
    expect(outcome).toMatchObject({ handled: true, orgId, plan: "scale" });
    expect(await limitsOf(apps)).toEqual([PLANS.scale, PLANS.scale]);
  });

  it("a late event about an old, canceled subscription does not take the newer one's plan away", async () => {
    const { orgId, customer } = await customerOwner();
    const old = stripe.setSubscription({ customer, price: PRICE_PRO, status: "canceled" });
    const current = stripe.setSubscription({ customer, price: PRICE_SCALE, status: "active" });
    await deliver("customer.subscription.created", current);
    expect(await deliver("customer.subscription.deleted", old)).toMatchObject({ handled: false });
    expect(await orgRow(orgId)).toMatchObject({ plan: "scale", stripeSubscriptionId: current.id });
  });

  it("ignores other events, unknown subscriptions and customers, answering without a change", async () => {
    const { orgId, customer } = await customerOwner();
    expect(await deliver("invoice.paid", { id: "in_1", object: "invoice", customer })).toMatchObject({
      handled: false,
    });
    expect(
      await deliver("customer.subscription.updated", { id: "sub_unknown", object: "subscription", customer }),
    ).toMatchObject({ handled: false });
    const elsewhere = stripe.setSubscription({
      customer: "cus_not_ours",
      price: PRICE_PRO,
      status: "active",
    });
    expect(await deliver("customer.subscription.updated", elsewhere)).toMatchObject({ handled: false });
    expect((await orgRow(orgId)).plan).toBe("free");
  });

  it("Stripe down while re-reading: UNAVAILABLE (Stripe retries the delivery) and no change", async () => {
    const { orgId, customer } = await customerOwner();
    const subscription = stripe.setSubscription({ customer, price: PRICE_PRO, status: "active" });
    stripe.failNext(3); // the first try and both of the client's retries
    expect(await codeOf(deliver("customer.subscription.updated", subscription))).toBe("UNAVAILABLE");
    expect((await orgRow(orgId)).plan).toBe("free");
    expect(await deliver("customer.subscription.updated", subscription)).toMatchObject({ plan: "pro" });
  });

  it("billing off (no STRIPE_SECRET_KEY): BILLING_DISABLED, and status says so", async () => {
    const config = loadControlPlaneConfig({ ...database.env, LOG_LEVEL: "silent" });
    const billing = createBilling(config, {
      db: opened.services.db,
      tenants: opened.services.tenants,
      logger,
    });
    expect(billing.enabled).toBe(false);
    const caller = browser({ ...opened.services, billing });
    await caller.auth.signup({ email: uniqueEmail("off"), password: "a long password" });
    expect(await caller.billing.status()).toMatchObject({
      enabled: false,
      org: { plan: "free" },
      canManage: false,
      plans: [{ purchasable: false }, { purchasable: false }, { purchasable: false }],
    });
    expect(
      await codeOf(caller.billing.checkout({ plan: "pro", successUrl: RETURN, cancelUrl: RETURN })),
    ).toBe("BILLING_DISABLED");
    expect(await codeOf(caller.billing.portal({ returnUrl: RETURN }))).toBe("BILLING_DISABLED");
    expect(await codeOf(billing.handleWebhook(Buffer.from("{}"), "t=1,v1=x"))).toBe("BILLING_DISABLED");
  });
});
