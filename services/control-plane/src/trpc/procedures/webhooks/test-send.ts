import { webhookEvent } from "@relaybase/server-kit";
import { z } from "zod";
import { appProcedure } from "../../trpc.js";
import { endpointIdSchema, endpointOfApp } from "./base.js";

/** Sends a `webhook.test` event to this endpoint only, through the outbox like any event (signed, retried, logged). */
export const testSend = appProcedure
  .input(z.object({ endpointId: endpointIdSchema }))
  .output(z.object({ eventId: z.string() }))
  .mutation(async ({ ctx, input }) => {
    const { db, webhooks } = ctx.services;
    const endpoint = await endpointOfApp(db, ctx.app.id, input.endpointId);
    const event = webhookEvent("webhook.test", ctx.app.id, {
      endpointId: endpoint.id,
      message: "A test event sent from the Relaybase console.",
    });
    await webhooks.ingest([event]);
    return { eventId: event.id };
  });
