import { RelaybaseError, SUBSCRIBABLE_WEBHOOK_EVENTS } from "@relaybase/protocol";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../../db/index.js";
import { WEBHOOK_DELIVERY_STATUSES, webhookEndpoints } from "../../../db/schema.js";
import { iso } from "../../schemas.js";

/** Schemas and helpers the webhook procedures share (docs/webhooks.md). */

export const endpointIdSchema = z.string().regex(/^whe_[A-Za-z0-9]{1,64}$/, "not a webhook endpoint id");
export const deliveryIdSchema = z.string().regex(/^whd_[A-Za-z0-9]{1,64}$/, "not a webhook delivery id");
export const webhookUrlSchema = z.string().trim().min(1).max(2_000);
export const subscribedEventsSchema = z
  .array(z.enum(SUBSCRIBABLE_WEBHOOK_EVENTS as [string, ...string[]]))
  .min(1, "subscribe to at least one event")
  .max(SUBSCRIBABLE_WEBHOOK_EVENTS.length)
  .transform((events) => [...new Set(events)].sort());
/** A room name, or a prefix and `*` (as in capabilities). */
export const roomPatternSchema = z
  .string()
  .regex(
    /^(?:[A-Za-z0-9_\-=@,.;:]{1,200}|[A-Za-z0-9_\-=@,.;:]{0,199}\*)$/,
    "a room name or a prefix ending in *",
  );
export const clientRoomsSchema = z.array(roomPatternSchema).max(20);
export const descriptionSchema = z.string().trim().max(200);

export const endpointOutput = z.object({
  id: z.string(),
  appId: z.string(),
  url: z.string(),
  description: z.string(),
  events: z.array(z.string()),
  clientRooms: z.array(z.string()),
  enabled: z.boolean(),
  /** Why the dispatcher disabled it (24 h of failures); null when enabled or disabled by hand. */
  disabledReason: z.string().nullable(),
  /** Until when the previous secret still signs (after a rotation). */
  previousSecretExpiresAt: z.string().nullable(),
  failingSince: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** Never the secret: it is shown once, in the answer that made it. */
export function endpointToOutput(e: typeof webhookEndpoints.$inferSelect): z.infer<typeof endpointOutput> {
  return {
    id: e.id,
    appId: e.appId,
    url: e.url,
    description: e.description,
    events: e.events,
    clientRooms: e.clientRooms,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    previousSecretExpiresAt:
      e.previousSecretExpiresAt && e.previousSecretExpiresAt.getTime() > Date.now()
        ? iso(e.previousSecretExpiresAt)
        : null,
    failingSince: e.failingSince ? iso(e.failingSince) : null,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
  };
}

/** The endpoint, if it belongs to the app; another app's answers NOT_FOUND like one that does not exist. */
export async function endpointOfApp(db: Database, appId: string, endpointId: string) {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.appId, appId)));
  if (!row) throw new RelaybaseError("NOT_FOUND", "No such webhook endpoint.");
  return row;
}

export const deliveryStatusSchema = z.enum(WEBHOOK_DELIVERY_STATUSES);
