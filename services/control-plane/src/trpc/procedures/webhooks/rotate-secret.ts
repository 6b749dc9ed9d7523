import { eq } from "drizzle-orm";
import { z } from "zod";
import { webhookEndpoints } from "../../../db/schema.js";
import { newWebhookSecret } from "../../../webhooks/signing.js";
import { appProcedure } from "../../trpc.js";
import { endpointIdSchema, endpointOfApp } from "./base.js";

/**
 * A new signing secret, in this answer only. For `overlapSeconds` (default 24 h) requests
 * carry a signature by each secret, so the receiver can switch at its own pace; 0 ends the
 * old secret now.
 */
export const rotateSecret = appProcedure
  .input(
    z.object({
      endpointId: endpointIdSchema,
      overlapSeconds: z
        .number()
        .int()
        .min(0)
        .max(7 * 86_400)
        .default(86_400),
    }),
  )
  .output(z.object({ secret: z.string(), previousSecretExpiresAt: z.string().nullable() }))
  .mutation(async ({ ctx, input }) => {
    const { db } = ctx.services;
    const endpoint = await endpointOfApp(db, ctx.app.id, input.endpointId);
    const secret = newWebhookSecret();
    const expires = input.overlapSeconds > 0 ? new Date(Date.now() + input.overlapSeconds * 1000) : null;
    await db
      .update(webhookEndpoints)
      .set({
        secret,
        previousSecret: expires ? endpoint.secret : null,
        previousSecretExpiresAt: expires,
        updatedAt: new Date(),
      })
      .where(eq(webhookEndpoints.id, endpoint.id));
    return { secret, previousSecretExpiresAt: expires ? expires.toISOString() : null };
  });
