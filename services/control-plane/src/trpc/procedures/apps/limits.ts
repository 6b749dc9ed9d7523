import { PLAN_IDS, PLANS, type PlanLimits } from "@relaybase/server-kit";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { appLimitOverrides, orgs } from "../../../db/schema.js";
import { limitsFor } from "../../../tenants.js";
import { appProcedure } from "../../trpc.js";

const limitKeys = Object.keys(PLANS.free) as (keyof PlanLimits)[];

/**
 * The limits in force for the app (its org's plan with the operator's overrides), read
 * only: customers change them by changing plan. `overridden` names the limits an operator set.
 */
export const limits = appProcedure
  .output(
    z.object({
      plan: z.enum(PLAN_IDS),
      limits: z.object(
        Object.fromEntries(limitKeys.map((key) => [key, z.number()])) as Record<
          keyof PlanLimits,
          z.ZodNumber
        >,
      ),
      overridden: z.array(z.string()),
    }),
  )
  .query(async ({ ctx }) => {
    const { db } = ctx.services;
    const [org] = await db.select({ plan: orgs.plan }).from(orgs).where(eq(orgs.id, ctx.app.orgId));
    const [override] = await db
      .select({ limits: appLimitOverrides.limits })
      .from(appLimitOverrides)
      .where(eq(appLimitOverrides.appId, ctx.app.id));
    const plan = org?.plan ?? "free";
    const inForce = limitsFor(plan, override?.limits);
    return {
      plan,
      limits: inForce,
      overridden: limitKeys.filter((key) => inForce[key] !== PLANS[plan][key]),
    };
  });
