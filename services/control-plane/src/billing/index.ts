import { RelaybaseError } from "@relaybase/protocol";
import type { Logger, PlanId } from "@relaybase/server-kit";
import type { ControlPlaneConfig } from "../config.js";
import type { Database } from "../db/index.js";
import type { TenantSync } from "../tenants.js";
import type { PaidPlan } from "./plans.js";
import { StripeBilling } from "./stripe-billing.js";

export { PAID_PLANS, type PaidPlan } from "./plans.js";

/** The org a billing call is for; the procedure has already checked the caller owns it. */
export interface BillingOrg {
  id: string;
  name: string;
}

export interface CheckoutRequest {
  plan: PaidPlan;
  successUrl: string;
  cancelUrl: string;
}

/** What a webhook delivery did, for the log line and for tests. */
export type WebhookOutcome =
  | { handled: false; eventId: string; type: string; reason: string }
  | {
      handled: true;
      eventId: string;
      type: string;
      orgId: string;
      plan: PlanId;
      subscriptionId: string;
      subscriptionStatus: string;
    };

/**
 * Plan changes through Stripe (DESIGN §6). Either backed by Stripe (STRIPE_SECRET_KEY set)
 * or disabled, in which case every call answers BILLING_DISABLED and no plan ever changes.
 */
export interface Billing {
  readonly enabled: boolean;
  /** A Checkout Session (subscription mode) for the plan; creates the org's Stripe customer on first use. */
  checkout(org: BillingOrg, request: CheckoutRequest): Promise<{ url: string }>;
  /** A Customer Portal session, where the owner changes plan, card or cancels. */
  portal(org: BillingOrg, request: { returnUrl: string }): Promise<{ url: string }>;
  /**
   * Verifies a webhook delivery against the exact bytes Stripe sent, then applies the
   * subscription it names as Stripe reports it now. BAD_REQUEST on a bad signature.
   */
  handleWebhook(payload: Buffer, signature: string | undefined): Promise<WebhookOutcome>;
}

export interface BillingDeps {
  db: Database;
  tenants: TenantSync;
  logger: Logger;
}

export type BillingConfig = Pick<
  ControlPlaneConfig,
  "STRIPE_SECRET_KEY" | "STRIPE_WEBHOOK_SECRET" | "STRIPE_PRICE_PRO" | "STRIPE_PRICE_SCALE" | "STRIPE_API_URL"
>;

/** Stripe-backed billing when STRIPE_SECRET_KEY is set (config.ts checks the rest is too), else disabled. */
export function createBilling(config: BillingConfig, deps: BillingDeps): Billing {
  const { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_PRO, STRIPE_PRICE_SCALE } = config;
  if (!STRIPE_SECRET_KEY) {
    deps.logger.info("billing is off (no STRIPE_SECRET_KEY): orgs keep their plans");
    return disabledBilling;
  }
  if (!STRIPE_WEBHOOK_SECRET || !STRIPE_PRICE_PRO || !STRIPE_PRICE_SCALE) {
    // loadControlPlaneConfig refuses this already; a hand-built config must not half-enable billing.
    throw new Error(
      "STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_PRO and STRIPE_PRICE_SCALE are required with STRIPE_SECRET_KEY",
    );
  }
  return new StripeBilling(
    {
      secretKey: STRIPE_SECRET_KEY,
      webhookSecret: STRIPE_WEBHOOK_SECRET,
      prices: { pro: STRIPE_PRICE_PRO, scale: STRIPE_PRICE_SCALE },
      apiUrl: config.STRIPE_API_URL,
    },
    deps,
  );
}

const disabled = (): Promise<never> => Promise.reject(new RelaybaseError("BILLING_DISABLED"));

export const disabledBilling: Billing = {
  enabled: false,
  checkout: disabled,
  portal: disabled,
  handleWebhook: disabled,
};
