import { z } from "zod";
import { publicProcedure } from "../../trpc.js";

/**
 * Clears the session cookie. Sessions are stateless JWTs: a copy of the cookie taken
 * before logout stays valid until it expires (SESSION_TTL_SECONDS).
 */
export const logout = publicProcedure.output(z.object({ ok: z.literal(true) })).mutation(({ ctx }) => {
  ctx.cookie.clear();
  return { ok: true as const };
});
