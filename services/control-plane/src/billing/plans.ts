import { PLAN_IDS, type PlanId } from "@relaybase/server-kit";
import type Stripe from "stripe";

/** The plans a customer can buy; free is what an org has without a live subscription. */
export const PAID_PLANS = ["pro", "scale"] as const satisfies readonly PlanId[];
export type PaidPlan = (typeof PAID_PLANS)[number];

/** The Stripe price of each paid plan (STRIPE_PRICE_PRO, STRIPE_PRICE_SCALE). */
export type PlanPrices = Record<PaidPlan, string>;

/**
 * Subscriptions that pay for a plan. `past_due` keeps the plan while Stripe retries the
 * payment; when its retries run out Stripe moves the subscription to canceled or unpaid.
 */
const LIVE_STATUSES: ReadonlySet<string> = new Set(["active", "trialing", "past_due"]);

export function isLiveStatus(status: string | null | undefined): boolean {
  return status != null && LIVE_STATUSES.has(status);
}

/** Higher wins when one subscription carries several of our prices (PLAN_IDS is in order). */
const rank = (plan: PlanId): number => PLAN_IDS.indexOf(plan);

/** The plan a subscription's items pay for, or undefined when none of its prices is one of ours. */
export function planOfPrices(priceIds: readonly string[], prices: PlanPrices): PaidPlan | undefined {
  let best: PaidPlan | undefined;
  for (const plan of PAID_PLANS) {
    if (priceIds.includes(prices[plan]) && (best === undefined || rank(plan) > rank(best))) best = plan;
  }
  return best;
}

export interface SubscriptionPlan {
  plan: PlanId;
  live: boolean;
  /** A live subscription on prices that map to no plan (a configuration mistake worth a warning). */
  unknownPrice: boolean;
}

/**
 * What an org gets from a subscription as Stripe reports it: the plan of its price while it
 * is live, free once it is canceled, unpaid, paused or never completed.
 */
export function planOfSubscription(subscription: Stripe.Subscription, prices: PlanPrices): SubscriptionPlan {
  const live = isLiveStatus(subscription.status);
  if (!live) return { plan: "free", live, unknownPrice: false };
  const plan = planOfPrices(
    subscription.items.data.map((item) => item.price.id),
    prices,
  );
  return { plan: plan ?? "free", live, unknownPrice: plan === undefined };
}
