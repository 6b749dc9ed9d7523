import { z } from "zod";
import { usageNotices } from "../../../usage/queries.js";
import { appProcedure } from "../../trpc.js";

/** The app's notices, newest first (e.g. `daily_quota_80`: 80% of the daily message quota used). */
export const notices = appProcedure
  .output(
    z.array(
      z.object({
        id: z.string(),
        kind: z.string(),
        day: z.string(),
        message: z.string(),
        createdAt: z.string(),
      }),
    ),
  )
  .query(({ ctx }) => usageNotices(ctx.services.db, ctx.app.id));
