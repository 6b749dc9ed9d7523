import { RelaybaseError } from "@relaybase/protocol";
import { and, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { webhookDeliveries } from "../../../db/schema.js";
import { appProcedure } from "../../trpc.js";
import { deliveryIdSchema, endpointIdSchema, endpointOfApp } from "./base.js";

/** Back to pending with a fresh retry schedule, due now; same event id and body as before. */
const AGAIN = { status: "pending" as const, attempts: 0, nextAttemptAt: sql`now()` };

/** Sends one delivery again (dead-lettered, delivered or pending). */
export const replay = appProcedure
  .input(z.object({ deliveryId: deliveryIdSchema }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const { db, webhooks } = ctx.services;
    const updated = await db
      .update(webhookDeliveries)
      .set(AGAIN)
      .where(and(eq(webhookDeliveries.id, input.deliveryId), eq(webhookDeliveries.appId, ctx.app.id)))
      .returning({ id: webhookDeliveries.id });
    if (updated.length === 0) throw new RelaybaseError("NOT_FOUND", "No such webhook delivery.");
    webhooks.wake();
    return { ok: true as const };
  });

/** Sends every dead-lettered delivery of the app (or of one endpoint) again. */
export const replayDead = appProcedure
  .input(z.object({ endpointId: endpointIdSchema.optional() }))
  .output(z.object({ replayed: z.number() }))
  .mutation(async ({ ctx, input }) => {
    const { db, webhooks } = ctx.services;
    if (input.endpointId) await endpointOfApp(db, ctx.app.id, input.endpointId);
    const updated = await db
      .update(webhookDeliveries)
      .set(AGAIN)
      .where(
        and(
          eq(webhookDeliveries.appId, ctx.app.id),
          eq(webhookDeliveries.status, "dead"),
          input.endpointId ? eq(webhookDeliveries.endpointId, input.endpointId) : undefined,
        ),
      )
      .returning({ id: webhookDeliveries.id });
    webhooks.wake();
    return { replayed: updated.length };
  });
