import { RelaybaseError } from "@relaybase/protocol";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { apps } from "../../../db/schema.js";
import { appToOutput } from "../../outputs.js";
import { allowedOriginsSchema, anonymousCapsSchema, appOutput, displayNameSchema } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";

/** Changes the given settings; omitted ones stay. Nodes see the change through the directory. */
export const update = appProcedure
  .input(
    z.object({
      name: displayNameSchema.optional(),
      allowedOrigins: allowedOriginsSchema.optional(),
      anonymousCaps: anonymousCapsSchema.optional(),
      clientPublish: z.boolean().optional(),
    }),
  )
  .output(appOutput)
  .mutation(async ({ ctx, input }) => {
    const { db, tenants } = ctx.services;
    const [app] = await db
      .update(apps)
      .set({
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.allowedOrigins === undefined ? {} : { allowedOrigins: input.allowedOrigins }),
        ...(input.anonymousCaps === undefined ? {} : { anonymousCaps: input.anonymousCaps }),
        ...(input.clientPublish === undefined ? {} : { clientPublish: input.clientPublish }),
        updatedAt: new Date(),
      })
      .where(eq(apps.id, ctx.app.id))
      .returning();
    if (!app) throw new RelaybaseError("NOT_FOUND", "No such app.");
    await tenants.sync(app.id);
    return appToOutput(app);
  });
