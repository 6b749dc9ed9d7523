import { z } from "zod";
import { appProcedure } from "../../trpc.js";
import { CONSOLE_TOKEN_TTL_SECONDS } from "./console-token.js";

/**
 * A short-lived token for the console's live tail (docs/console.md#the-debug-console): the
 * `debug` claim lets it subscribe to the app's reserved debug room, and it has no
 * capability on any room, so it can do nothing else. Only here is that claim minted, and
 * only for a member of the app's org (`appProcedure`; anyone else gets NOT_FOUND).
 */
export const debugToken = appProcedure
  .output(z.object({ token: z.string(), expiresAt: z.number() }))
  .mutation(async ({ ctx }) => {
    const { token, claims } = await ctx.services.signing.issue({
      appId: ctx.app.id,
      userId: `console:${ctx.user.id}`,
      capabilities: {},
      debug: true,
      ttlSeconds: CONSOLE_TOKEN_TTL_SECONDS,
    });
    ctx.log.info({ appId: ctx.app.id, jti: claims.jti }, "debug token issued");
    return { token, expiresAt: claims.exp };
  });
