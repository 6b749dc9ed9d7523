import { RelaybaseError } from "@relaybase/protocol";
import { newAppId, newPublishableKey, randomId } from "@relaybase/server-kit";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { apiKeys, apps, DEFAULT_ANONYMOUS_CAPS, memberships } from "../../../db/schema.js";
import { appToOutput, keyToOutput } from "../../outputs.js";
import {
  allowedOriginsSchema,
  anonymousCapsSchema,
  appOutput,
  displayNameSchema,
  keyOutput,
} from "../../schemas.js";
import { authedProcedure } from "../../trpc.js";

/** Creates an app in one of the user's orgs (the first one by default) with one publishable key. */
export const create = authedProcedure
  .input(
    z.object({
      name: displayNameSchema,
      allowedOrigins: allowedOriginsSchema.optional(),
      anonymousCaps: anonymousCapsSchema.optional(),
      clientPublish: z.boolean().optional(),
      orgId: z.string().max(100).optional(),
    }),
  )
  .output(z.object({ app: appOutput, publishableKey: keyOutput }))
  .mutation(async ({ ctx, input }) => {
    const { db, tenants } = ctx.services;
    const [membership] = await db
      .select({ orgId: memberships.orgId })
      .from(memberships)
      .where(
        and(
          eq(memberships.userId, ctx.user.id),
          input.orgId ? eq(memberships.orgId, input.orgId) : undefined,
        ),
      )
      .orderBy(asc(memberships.createdAt))
      .limit(1);
    if (!membership) throw new RelaybaseError("NOT_FOUND", "No such org.");

    const { app, key } = await db.transaction(async (tx) => {
      const [app] = await tx
        .insert(apps)
        .values({
          id: newAppId(),
          orgId: membership.orgId,
          name: input.name,
          allowedOrigins: input.allowedOrigins ?? [],
          anonymousCaps: input.anonymousCaps ?? DEFAULT_ANONYMOUS_CAPS,
          clientPublish: input.clientPublish ?? true,
        })
        .returning();
      const [key] = await tx
        .insert(apiKeys)
        .values({
          id: `key_${randomId(16)}`,
          appId: app!.id,
          kind: "publishable",
          name: "Default",
          publishable: newPublishableKey(),
        })
        .returning();
      return { app: app!, key: key! };
    });
    await tenants.sync(app.id);
    return { app: appToOutput(app), publishableKey: keyToOutput(key) };
  });
