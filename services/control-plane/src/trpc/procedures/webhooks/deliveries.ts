import { RelaybaseError } from "@relaybase/protocol";
import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import { webhookAttempts, webhookDeliveries } from "../../../db/schema.js";
import { iso } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";
import { deliveryIdSchema, deliveryStatusSchema, endpointIdSchema } from "./base.js";

const deliveryOutput = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status: deliveryStatusSchema,
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().nullable(),
  lastLatencyMs: z.number().nullable(),
  lastError: z.string().nullable(),
  /** The first 1 KiB of the receiver's last answer. */
  lastResponse: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

function deliveryToOutput(d: typeof webhookDeliveries.$inferSelect): z.infer<typeof deliveryOutput> {
  return {
    id: d.id,
    endpointId: d.endpointId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === "pending" ? iso(d.nextAttemptAt) : null,
    lastAttemptAt: d.lastAttemptAt ? iso(d.lastAttemptAt) : null,
    lastStatusCode: d.lastStatusCode,
    lastLatencyMs: d.lastLatencyMs,
    lastError: d.lastError,
    lastResponse: d.lastResponse,
    deliveredAt: d.deliveredAt ? iso(d.deliveredAt) : null,
    createdAt: iso(d.createdAt),
  };
}

/** The delivery log (7 days), newest first; page with `before` (the last `cursor`). */
export const deliveries = appProcedure
  .input(
    z.object({
      endpointId: endpointIdSchema.optional(),
      status: deliveryStatusSchema.optional(),
      limit: z.number().int().min(1).max(200).default(50),
      before: z.number().int().positive().optional(),
    }),
  )
  .output(z.object({ deliveries: z.array(deliveryOutput), cursor: z.number().nullable() }))
  .query(async ({ ctx, input }) => {
    const rows = await ctx.services.db
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.appId, ctx.app.id),
          input.endpointId ? eq(webhookDeliveries.endpointId, input.endpointId) : undefined,
          input.status ? eq(webhookDeliveries.status, input.status) : undefined,
          input.before ? lt(webhookDeliveries.seq, input.before) : undefined,
        ),
      )
      .orderBy(desc(webhookDeliveries.seq))
      .limit(input.limit);
    return {
      deliveries: rows.map(deliveryToOutput),
      cursor: rows.length === input.limit ? (rows.at(-1)?.seq ?? null) : null,
    };
  });

/** One delivery with its event and every attempt. */
export const delivery = appProcedure
  .input(z.object({ deliveryId: deliveryIdSchema }))
  .output(
    z.object({
      delivery: deliveryOutput,
      event: z.record(z.string(), z.unknown()),
      attempts: z.array(
        z.object({
          requestId: z.string(),
          at: z.string(),
          statusCode: z.number().nullable(),
          latencyMs: z.number(),
          error: z.string().nullable(),
          response: z.string().nullable(),
          batchSize: z.number(),
        }),
      ),
    }),
  )
  .query(async ({ ctx, input }) => {
    const { db } = ctx.services;
    const [row] = await db
      .select()
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, input.deliveryId), eq(webhookDeliveries.appId, ctx.app.id)));
    if (!row) throw new RelaybaseError("NOT_FOUND", "No such webhook delivery.");
    const attempts = await db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, row.id))
      .orderBy(webhookAttempts.at);
    return {
      delivery: deliveryToOutput(row),
      event: row.event,
      attempts: attempts.map((a) => ({
        requestId: a.requestId,
        at: iso(a.at),
        statusCode: a.statusCode,
        latencyMs: a.latencyMs,
        error: a.error,
        response: a.response,
        batchSize: a.batchSize,
      })),
    };
  });
