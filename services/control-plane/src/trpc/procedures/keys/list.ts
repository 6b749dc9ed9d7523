import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { apiKeys } from "../../../db/schema.js";
import { keyToOutput } from "../../outputs.js";
import { keyOutput } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";

/** Live and revoked keys of the app. Publishable keys show their value; secrets never. */
export const list = appProcedure.output(z.array(keyOutput)).query(async ({ ctx }) => {
  const rows = await ctx.services.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.appId, ctx.app.id))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  return rows.map(keyToOutput);
});
