import { z } from "zod";
import { usageToday } from "../../../usage/queries.js";
import { appProcedure } from "../../trpc.js";

/** Today's (UTC) totals so far, against the app's daily message quota. */
export const today = appProcedure
  .output(
    z.object({
      day: z.string(),
      published: z.number(),
      delivered: z.number(),
      bytesPublished: z.number(),
      bytesDelivered: z.number(),
      peakConnections: z.number(),
      messagesPerDay: z.number(),
      percent: z.number(),
    }),
  )
  .query(({ ctx }) => usageToday(ctx.services.db, ctx.app.id));
