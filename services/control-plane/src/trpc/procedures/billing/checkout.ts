import { z } from "zod";
import { PAID_PLANS } from "../../../billing/index.js";
import { orgOwnerProcedure, returnUrlSchema } from "./org.js";

/**
 * A Stripe Checkout Session (subscription mode) for the plan; the console sends the owner
 * to `url`. The plan changes when Stripe's webhook confirms the subscription, not here.
 */
export const checkout = orgOwnerProcedure
  .input(z.object({ plan: z.enum(PAID_PLANS), successUrl: returnUrlSchema, cancelUrl: returnUrlSchema }))
  .output(z.object({ url: z.string() }))
  .mutation(({ ctx, input }) =>
    ctx.services.billing.checkout(
      { id: ctx.org.id, name: ctx.org.name },
      { plan: input.plan, successUrl: input.successUrl, cancelUrl: input.cancelUrl },
    ),
  );
