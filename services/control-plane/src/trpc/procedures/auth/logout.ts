import { z } from "zod";
import { publicProcedure } from "../../trpc.js";

/**
 * Ends the session and clears the cookie. The session row is deleted, so a copy of the
 * cookie taken before logout is refused from then on, on every replica. Public: logging
 * out without a (valid) session just clears the cookie.
 */
export const logout = publicProcedure.output(z.object({ ok: z.literal(true) })).mutation(async ({ ctx }) => {
  await ctx.services.sessions.revoke(ctx.cookie.read());
  ctx.cookie.clear();
  return { ok: true as const };
});
