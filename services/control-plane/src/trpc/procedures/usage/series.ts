import { z } from "zod";
import { usageSeries } from "../../../usage/queries.js";
import { appProcedure } from "../../trpc.js";

export const usagePointOutput = z.object({
  start: z.string(),
  published: z.number(),
  delivered: z.number(),
  bytesPublished: z.number(),
  bytesDelivered: z.number(),
  peakConnections: z.number(),
});

/**
 * Usage over time for the console's charts: one point per hour or UTC day (a day sums
 * its hours; its peak is the busiest hour's), zeros included. `from` rounds down, `to`
 * is exclusive; by default the last 24 hours or 30 days, current one included.
 */
export const series = appProcedure
  .input(
    z.object({
      granularity: z.enum(["hour", "day"]),
      from: z.iso.datetime({ offset: true }).optional(),
      to: z.iso.datetime({ offset: true }).optional(),
    }),
  )
  .output(z.array(usagePointOutput))
  .query(({ ctx, input }) =>
    usageSeries(ctx.services.db, ctx.app.id, input.granularity, {
      from: input.from === undefined ? undefined : new Date(input.from),
      to: input.to === undefined ? undefined : new Date(input.to),
    }),
  );
