import { ERROR_CODES, RelaybaseError } from "@relaybase/protocol";
import { asRelaybaseError } from "@relaybase/server-kit";
import { initTRPC, TRPCError } from "@trpc/server";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import { apps, memberships } from "../db/schema.js";
import type { Context } from "./context.js";
import { relaybaseCodeOf, toTRPCError } from "./errors.js";
import { appIdSchema } from "./schemas.js";

const t = initTRPC.context<Context>().create({
  // Never send stacks to the browser, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const relaybaseCode = relaybaseCodeOf(error);
    const info = ERROR_CODES[relaybaseCode];
    const retryAfter = error.cause instanceof RelaybaseError ? error.cause.retryAfter : undefined;
    return {
      ...shape,
      message: relaybaseCode === "INTERNAL" ? info.message : shape.message,
      data: {
        code: shape.data.code,
        httpStatus: info.status,
        path: shape.data.path,
        relaybaseCode,
        retry: info.retry,
        // Seconds until a retry can succeed (login and signup limits); also the Retry-After header.
        ...(retryAfter === undefined ? {} : { retryAfter }),
      },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Outermost middleware of every procedure: a `RelaybaseError` becomes the matching tRPC
 * error; anything unknown is logged here and reaches the client only as INTERNAL.
 */
const mapErrors = t.middleware(async ({ ctx, path, next }) => {
  const result = await next();
  if (result.ok) return result;
  const { error } = result;
  const known = asRelaybaseError(error.cause);
  if (known) throw toTRPCError(known);
  if (error.code === "INTERNAL_SERVER_ERROR") {
    ctx.log.error({ err: error.cause ?? error, path }, "unhandled error in tRPC procedure");
    throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: ERROR_CODES.INTERNAL.message });
  }
  return result;
});

export const publicProcedure = t.procedure.use(mapErrors);

/** Needs the cookie of a live session (not logged out, not expired) of a user that still exists. */
export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = await ctx.services.sessions.authenticate(ctx.cookie.read());
  if (!user) throw new RelaybaseError("UNAUTHENTICATED");
  return next({ ctx: { user } });
});

/**
 * Takes `{ appId }` and needs the user to be a member of the app's org. Another org's app
 * answers NOT_FOUND, exactly like an app that does not exist, so ids reveal nothing.
 */
export const appProcedure = authedProcedure
  .input(z.object({ appId: appIdSchema }))
  .use(async ({ ctx, input, next }) => {
    const [row] = await ctx.services.db
      .select({ app: apps, role: memberships.role })
      .from(apps)
      .innerJoin(memberships, and(eq(memberships.orgId, apps.orgId), eq(memberships.userId, ctx.user.id)))
      .where(eq(apps.id, input.appId));
    if (!row) throw new RelaybaseError("NOT_FOUND", "No such app.");
    return next({ ctx: { app: row.app, role: row.role } });
  });
