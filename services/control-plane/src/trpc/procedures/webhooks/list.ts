import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { webhookEndpoints } from "../../../db/schema.js";
import { appProcedure } from "../../trpc.js";
import { endpointOutput, endpointToOutput } from "./base.js";

export const list = appProcedure.output(z.array(endpointOutput)).query(async ({ ctx }) => {
  const rows = await ctx.services.db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.appId, ctx.app.id))
    .orderBy(asc(webhookEndpoints.createdAt));
  return rows.map(endpointToOutput);
});
