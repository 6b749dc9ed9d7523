import { eq } from "drizzle-orm";
import { z } from "zod";
import { webhookEndpoints } from "../../../db/schema.js";
import { checkWebhookUrl } from "../../../webhooks/url-safety.js";
import { appProcedure } from "../../trpc.js";
import {
  clientRoomsSchema,
  descriptionSchema,
  endpointIdSchema,
  endpointOfApp,
  endpointOutput,
  endpointToOutput,
  subscribedEventsSchema,
  webhookUrlSchema,
} from "./base.js";

/** Changes an endpoint; enabling it again clears the failure record and resumes its pending events. */
export const update = appProcedure
  .input(
    z.object({
      endpointId: endpointIdSchema,
      url: webhookUrlSchema.optional(),
      events: subscribedEventsSchema.optional(),
      clientRooms: clientRoomsSchema.optional(),
      description: descriptionSchema.optional(),
      enabled: z.boolean().optional(),
    }),
  )
  .output(endpointOutput)
  .mutation(async ({ ctx, input }) => {
    const { db, tenants, webhooks } = ctx.services;
    const before = await endpointOfApp(db, ctx.app.id, input.endpointId);
    const url =
      input.url === undefined ? undefined : (await checkWebhookUrl(input.url, webhooks.policy)).toString();
    const enabling = input.enabled === true && !before.enabled;
    const [row] = await db
      .update(webhookEndpoints)
      .set({
        ...(url === undefined ? {} : { url }),
        ...(input.events ? { events: input.events } : {}),
        ...(input.clientRooms ? { clientRooms: input.clientRooms } : {}),
        ...(input.description === undefined ? {} : { description: input.description }),
        ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
        ...(enabling ? { disabledReason: null, failingSince: null } : {}),
        updatedAt: new Date(),
      })
      .where(eq(webhookEndpoints.id, before.id))
      .returning();
    await tenants.sync(ctx.app.id);
    if (enabling) webhooks.wake();
    return endpointToOutput(row!);
  });
