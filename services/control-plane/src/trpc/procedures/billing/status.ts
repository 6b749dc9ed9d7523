import { PLAN_IDS, PLANS, type PlanLimits } from "@relaybase/server-kit";
import { z } from "zod";
import { MEMBER_ROLES } from "../../../db/schema.js";
import { orgProcedure } from "./org.js";

const limitKeys = Object.keys(PLANS.free) as (keyof PlanLimits)[];
/** Every limit of the plans table, whatever keys it grows. */
const planLimitsOutput = z.object(
  Object.fromEntries(limitKeys.map((key) => [key, z.number()])) as Record<keyof PlanLimits, z.ZodNumber>,
);

/**
 * The org's plan and subscription, whether billing is on, and every plan with its limits
 * (from the one plans table) for the console's plan picker. Any member may read it.
 */
export const status = orgProcedure
  .output(
    z.object({
      enabled: z.boolean(),
      org: z.object({
        id: z.string(),
        name: z.string(),
        plan: z.enum(PLAN_IDS),
        role: z.enum(MEMBER_ROLES),
      }),
      /** The org's Stripe subscription as last reported by Stripe; null when it never had one. */
      subscription: z.object({ id: z.string(), status: z.string().nullable() }).nullable(),
      /** The org has a Stripe customer, so the billing portal can open. */
      hasBillingAccount: z.boolean(),
      /** Owners may start Checkout and open the portal. */
      canManage: z.boolean(),
      plans: z.array(
        z.object({
          id: z.enum(PLAN_IDS),
          limits: planLimitsOutput,
          /** Can be bought through Checkout on this server. */
          purchasable: z.boolean(),
        }),
      ),
    }),
  )
  .query(({ ctx }) => {
    const { billing } = ctx.services;
    const { org } = ctx;
    return {
      enabled: billing.enabled,
      org: { id: org.id, name: org.name, plan: org.plan, role: ctx.role },
      subscription: org.stripeSubscriptionId
        ? { id: org.stripeSubscriptionId, status: org.stripeSubscriptionStatus }
        : null,
      hasBillingAccount: billing.enabled && org.stripeCustomerId !== null,
      canManage: billing.enabled && ctx.role === "owner",
      plans: PLAN_IDS.map((id) => ({ id, limits: PLANS[id], purchasable: billing.enabled && id !== "free" })),
    };
  });
