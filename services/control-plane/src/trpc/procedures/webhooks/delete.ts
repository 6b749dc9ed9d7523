import { eq } from "drizzle-orm";
import { z } from "zod";
import { webhookEndpoints } from "../../../db/schema.js";
import { appProcedure } from "../../trpc.js";
import { endpointIdSchema, endpointOfApp } from "./base.js";

/** Deletes the endpoint with its pending events and its delivery log. */
export const remove = appProcedure
  .input(z.object({ endpointId: endpointIdSchema }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const { db, tenants } = ctx.services;
    const endpoint = await endpointOfApp(db, ctx.app.id, input.endpointId);
    await db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    await tenants.sync(ctx.app.id);
    return { ok: true as const };
  });
