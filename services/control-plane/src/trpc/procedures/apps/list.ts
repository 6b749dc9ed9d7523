import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { apps, memberships } from "../../../db/schema.js";
import { appToOutput } from "../../outputs.js";
import { appOutput } from "../../schemas.js";
import { authedProcedure } from "../../trpc.js";

/** Apps of every org the user belongs to, oldest first. */
export const list = authedProcedure.output(z.array(appOutput)).query(async ({ ctx }) => {
  const rows = await ctx.services.db
    .select({ app: apps })
    .from(apps)
    .innerJoin(memberships, eq(memberships.orgId, apps.orgId))
    .where(eq(memberships.userId, ctx.user.id))
    .orderBy(asc(apps.createdAt), asc(apps.id));
  return rows.map((r) => appToOutput(r.app));
});
