import { RelaybaseError } from "@relaybase/protocol";
import { randomId } from "@relaybase/server-kit";
import { count, eq } from "drizzle-orm";
import { z } from "zod";
import { webhookEndpoints } from "../../../db/schema.js";
import { loadAppRuntimes } from "../../../tenants.js";
import { newWebhookSecret } from "../../../webhooks/signing.js";
import { checkWebhookUrl } from "../../../webhooks/url-safety.js";
import { appProcedure } from "../../trpc.js";
import {
  clientRoomsSchema,
  descriptionSchema,
  endpointOutput,
  endpointToOutput,
  subscribedEventsSchema,
  webhookUrlSchema,
} from "./base.js";

/**
 * Adds an endpoint. The URL is checked now (https, and every address it resolves to
 * allowed) and again at every delivery. The signing secret is in this answer only.
 */
export const create = appProcedure
  .input(
    z.object({
      url: webhookUrlSchema,
      events: subscribedEventsSchema,
      clientRooms: clientRoomsSchema.default([]),
      description: descriptionSchema.default(""),
    }),
  )
  .output(z.object({ endpoint: endpointOutput, secret: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const { db, tenants, webhooks } = ctx.services;
    const url = await checkWebhookUrl(input.url, webhooks.policy);
    const limit = (await loadAppRuntimes(db, [ctx.app.id])).get(ctx.app.id)?.limits.webhookEndpoints ?? 0;
    const [existing] = await db
      .select({ n: count() })
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.appId, ctx.app.id));
    if ((existing?.n ?? 0) >= limit) {
      throw new RelaybaseError(
        "BAD_REQUEST",
        `This app's plan allows ${limit} webhook endpoints (webhookEndpoints).`,
      );
    }
    const secret = newWebhookSecret();
    const [row] = await db
      .insert(webhookEndpoints)
      .values({
        id: `whe_${randomId(16)}`,
        appId: ctx.app.id,
        url: url.toString(),
        description: input.description,
        events: input.events,
        clientRooms: input.clientRooms,
        secret,
      })
      .returning();
    await tenants.sync(ctx.app.id);
    return { endpoint: endpointToOutput(row!), secret };
  });
