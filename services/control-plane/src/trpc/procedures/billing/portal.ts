import { z } from "zod";
import { orgOwnerProcedure, returnUrlSchema } from "./org.js";

/** A Stripe Customer Portal session (change plan, card, invoices, cancel); the console sends the owner to `url`. */
export const portal = orgOwnerProcedure
  .input(z.object({ returnUrl: returnUrlSchema }))
  .output(z.object({ url: z.string() }))
  .mutation(({ ctx, input }) =>
    ctx.services.billing.portal({ id: ctx.org.id, name: ctx.org.name }, { returnUrl: input.returnUrl }),
  );
