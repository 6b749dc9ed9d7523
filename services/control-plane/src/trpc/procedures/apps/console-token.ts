import { z } from "zod";
import { appProcedure } from "../../trpc.js";

/** Short: the page asks for a new one whenever the SDK refreshes. */
export const CONSOLE_TOKEN_TTL_SECONDS = 600;

/**
 * A short-lived connection token for the signed-in member, so the console can send a
 * test event and watch it arrive through the SDK like any client. A member can create
 * secret keys for the app anyway, so this grants nothing they could not already get; its
 * `sub` (`console:<userId>`) marks the console's publishes.
 */
export const consoleToken = appProcedure
  .output(z.object({ token: z.string(), expiresAt: z.number() }))
  .mutation(async ({ ctx }) => {
    const { token, claims } = await ctx.services.signing.issue({
      appId: ctx.app.id,
      userId: `console:${ctx.user.id}`,
      capabilities: { "*": ["subscribe", "publish", "history"] },
      ttlSeconds: CONSOLE_TOKEN_TTL_SECONDS,
    });
    ctx.log.info({ appId: ctx.app.id, jti: claims.jti }, "console token issued");
    return { token, expiresAt: claims.exp };
  });
