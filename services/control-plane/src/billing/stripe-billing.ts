import { RelaybaseError } from "@relaybase/protocol";
import type { Logger } from "@relaybase/server-kit";
import { and, eq, isNull, or } from "drizzle-orm";
import type Stripe from "stripe";
import type { Database } from "../db/index.js";
import { orgs } from "../db/schema.js";
import type { TenantSync } from "../tenants.js";
import type { Billing, BillingDeps, BillingOrg, CheckoutRequest, WebhookOutcome } from "./index.js";
import { isLiveStatus, type PlanPrices, planOfSubscription } from "./plans.js";
import { createStripeClient, isMissingResource, isTransientStripeError } from "./stripe-client.js";

export interface StripeBillingOptions {
  secretKey: string;
  webhookSecret: string;
  prices: PlanPrices;
  /** STRIPE_API_URL: another base URL for the API (a local stand-in). */
  apiUrl?: string | undefined;
}

/** Events whose subscription we re-read and apply; everything else is answered 200 and ignored. */
const SUBSCRIPTION_EVENTS: ReadonlySet<string> = new Set([
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.paused",
  "customer.subscription.resumed",
]);

/** The ids an event names; its copy of the subscription itself is never trusted. */
interface SubscriptionRef {
  subscriptionId: string;
  customerId: string | undefined;
}

const idOf = (value: string | { id: string } | null | undefined): string | undefined =>
  typeof value === "string" ? value : (value?.id ?? undefined);

export function subscriptionRefOf(event: Stripe.Event): SubscriptionRef | undefined {
  if (event.type === "checkout.session.completed") {
    const session = event.data.object;
    const subscriptionId = idOf(session.subscription);
    if (session.mode !== "subscription" || !subscriptionId) return undefined;
    return { subscriptionId, customerId: idOf(session.customer) };
  }
  if (SUBSCRIPTION_EVENTS.has(event.type)) {
    const subscription = event.data.object as Stripe.Subscription;
    if (typeof subscription.id !== "string") return undefined;
    return { subscriptionId: subscription.id, customerId: idOf(subscription.customer) };
  }
  return undefined;
}

/**
 * Billing backed by Stripe (STYLE 8, after Documenso): the webhook's signature is checked
 * against the raw bytes, only ids are taken from the event, the subscription is re-read
 * from Stripe, and no database transaction is ever open while Stripe is called.
 */
export class StripeBilling implements Billing {
  readonly enabled = true;
  readonly #options: StripeBillingOptions;
  readonly #stripe: Stripe;
  readonly #db: Database;
  readonly #tenants: TenantSync;
  readonly #logger: Logger;
  /** Webhooks of one customer are applied one after another, so an older re-read never lands last. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: StripeBillingOptions, deps: BillingDeps) {
    this.#options = options;
    this.#stripe = createStripeClient(options.secretKey, options.apiUrl);
    this.#db = deps.db;
    this.#tenants = deps.tenants;
    this.#logger = deps.logger;
  }

  async checkout(org: BillingOrg, request: CheckoutRequest): Promise<{ url: string }> {
    const [row] = await this.#db
      .select({ subscriptionId: orgs.stripeSubscriptionId, status: orgs.stripeSubscriptionStatus })
      .from(orgs)
      .where(eq(orgs.id, org.id));
    if (row?.subscriptionId && isLiveStatus(row.status)) {
      // A second Checkout would start a second subscription and bill twice.
      throw new RelaybaseError(
        "CONFLICT",
        "This org already has a subscription; change plans in the billing portal.",
      );
    }
    const customerId = await this.#ensureCustomer(org);
    const session = await this.#call("create a Checkout Session", () =>
      this.#stripe.checkout.sessions.create({
        mode: "subscription",
        customer: customerId,
        line_items: [{ price: this.#options.prices[request.plan], quantity: 1 }],
        success_url: request.successUrl,
        cancel_url: request.cancelUrl,
        client_reference_id: org.id,
        metadata: { orgId: org.id, plan: request.plan },
        subscription_data: { metadata: { orgId: org.id } },
      }),
    );
    if (!session.url) throw new Error(`Stripe returned Checkout Session ${session.id} without a url`);
    return { url: session.url };
  }

  async portal(org: BillingOrg, request: { returnUrl: string }): Promise<{ url: string }> {
    const [row] = await this.#db
      .select({ customerId: orgs.stripeCustomerId })
      .from(orgs)
      .where(eq(orgs.id, org.id));
    if (!row?.customerId) {
      throw new RelaybaseError("NOT_FOUND", "This org has no billing account yet; choose a plan first.");
    }
    const customerId = row.customerId;
    const session = await this.#call("create a Customer Portal session", () =>
      this.#stripe.billingPortal.sessions.create({ customer: customerId, return_url: request.returnUrl }),
    );
    return { url: session.url };
  }

  async handleWebhook(payload: Buffer, signature: string | undefined): Promise<WebhookOutcome> {
    if (!signature) throw new RelaybaseError("BAD_REQUEST", "The Stripe-Signature header is missing.");
    let event: Stripe.Event;
    try {
      event = this.#stripe.webhooks.constructEvent(payload, signature, this.#options.webhookSecret);
    } catch {
      throw new RelaybaseError("BAD_REQUEST", "The Stripe-Signature does not match this payload.");
    }
    const base = { eventId: event.id, type: event.type };
    const ref = subscriptionRefOf(event);
    if (!ref) return { handled: false, ...base, reason: "event type not used" };
    return this.#serially(ref.customerId ?? ref.subscriptionId, () =>
      this.#applySubscription(ref.subscriptionId, base),
    );
  }

  /**
   * Applies a subscription as Stripe reports it now (not as the event described it) to
   * the org of its customer, then re-puts every app of the org in the tenant directory.
   * Running it twice changes nothing more: webhooks are at-least-once.
   */
  async #applySubscription(
    subscriptionId: string,
    base: { eventId: string; type: string },
  ): Promise<WebhookOutcome> {
    let subscription: Stripe.Subscription;
    try {
      subscription = await this.#call("read a subscription", () =>
        this.#stripe.subscriptions.retrieve(subscriptionId),
      );
    } catch (err) {
      if (!isMissingResource(err)) throw err;
      this.#logger.warn(
        { ...base, subscriptionId },
        "stripe webhook names a subscription Stripe does not know",
      );
      return { handled: false, ...base, reason: "subscription not found in Stripe" };
    }
    const customerId = idOf(subscription.customer);
    if (!customerId) return { handled: false, ...base, reason: "subscription without a customer" };

    const { plan, live, unknownPrice } = planOfSubscription(subscription, this.#options.prices);
    if (unknownPrice) {
      this.#logger.warn(
        { ...base, subscriptionId, prices: subscription.items.data.map((i) => i.price.id) },
        "live subscription on a price that is neither STRIPE_PRICE_PRO nor STRIPE_PRICE_SCALE: org gets free",
      );
    }
    // A live subscription becomes the org's subscription. An ended one only counts when it is
    // the org's current one (or the org has none), so a late event about an old subscription
    // cannot take away the plan a newer one pays for.
    const [updated] = await this.#db
      .update(orgs)
      .set({ plan, stripeSubscriptionId: subscription.id, stripeSubscriptionStatus: subscription.status })
      .where(
        and(
          eq(orgs.stripeCustomerId, customerId),
          live
            ? undefined
            : or(isNull(orgs.stripeSubscriptionId), eq(orgs.stripeSubscriptionId, subscription.id)),
        ),
      )
      .returning({ id: orgs.id });
    if (!updated) {
      this.#logger.warn(
        { ...base, subscriptionId, customerId, status: subscription.status },
        "stripe webhook: no org for this customer, or the subscription is not the org's current one",
      );
      return { handled: false, ...base, reason: "no org to apply it to" };
    }
    await this.#tenants.syncOrg(updated.id);
    this.#logger.info(
      { ...base, orgId: updated.id, plan, subscriptionId, status: subscription.status },
      "org plan applied from stripe",
    );
    return {
      handled: true,
      ...base,
      orgId: updated.id,
      plan,
      subscriptionId: subscription.id,
      subscriptionStatus: subscription.status,
    };
  }

  /**
   * The org's Stripe customer, created on first use and stored BEFORE any Checkout Session
   * names it, so the webhooks that follow always find the org. No transaction spans the
   * Stripe call; the idempotency key makes two racing first calls get the same customer.
   */
  async #ensureCustomer(org: BillingOrg): Promise<string> {
    const existing = await this.#customerIdOf(org.id);
    if (existing) return existing;
    const customer = await this.#call("create a customer", () =>
      this.#stripe.customers.create(
        { name: org.name, metadata: { orgId: org.id } },
        { idempotencyKey: `relaybase-org-customer-${org.id}` },
      ),
    );
    const [stored] = await this.#db
      .update(orgs)
      .set({ stripeCustomerId: customer.id })
      .where(and(eq(orgs.id, org.id), isNull(orgs.stripeCustomerId)))
      .returning({ customerId: orgs.stripeCustomerId });
    if (stored?.customerId) return stored.customerId;
    // Another request stored the org's customer first: use that one.
    const winner = await this.#customerIdOf(org.id);
    if (!winner) throw new RelaybaseError("NOT_FOUND", "No such org.");
    return winner;
  }

  async #customerIdOf(orgId: string): Promise<string | null | undefined> {
    const [row] = await this.#db
      .select({ customerId: orgs.stripeCustomerId })
      .from(orgs)
      .where(eq(orgs.id, orgId));
    return row?.customerId;
  }

  /** A Stripe call; Stripe being down or slow becomes UNAVAILABLE (retry later), the rest stays as is. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isTransientStripeError(err)) {
        this.#logger.warn({ err }, `stripe did not answer: ${what}`);
        throw new RelaybaseError("UNAVAILABLE", "Stripe did not answer; try again in a moment.");
      }
      throw err;
    }
  }

  #serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    this.#queues.set(key, next);
    const forget = () => {
      if (this.#queues.get(key) === next) this.#queues.delete(key);
    };
    next.then(forget, forget);
    return next;
  }
}
