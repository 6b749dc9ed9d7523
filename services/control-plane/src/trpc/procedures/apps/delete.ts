import { eq } from "drizzle-orm";
import { z } from "zod";
import { apps } from "../../../db/schema.js";
import { appProcedure } from "../../trpc.js";

/** Deletes the app and its keys; its keys stop working as soon as the directory forgets it. */
export const remove = appProcedure
  .output(z.object({ ok: z.literal(true), appId: z.string() }))
  .mutation(async ({ ctx }) => {
    await ctx.services.db.delete(apps).where(eq(apps.id, ctx.app.id));
    await ctx.services.tenants.sync(ctx.app.id);
    return { ok: true as const, appId: ctx.app.id };
  });
