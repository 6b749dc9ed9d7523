import { RelaybaseError } from "@relaybase/protocol";
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { memberships, orgs } from "../../../db/schema.js";
import { authedProcedure } from "../../trpc.js";

/*
 * Base procedures of the billing procedures (kept beside them rather than in trpc.ts
 * while billing is the only org-level API).
 */

export const orgIdSchema = z.string().regex(/^org_[A-Za-z0-9]{1,64}$/, "not an org id");

/**
 * Takes an optional `{ orgId }` (default: the user's first org) and needs the user to be a
 * member. Another org answers NOT_FOUND, exactly like one that does not exist.
 */
export const orgProcedure = authedProcedure
  .input(z.object({ orgId: orgIdSchema.optional() }).optional())
  .use(async ({ ctx, input, next }) => {
    const [row] = await ctx.services.db
      .select({ org: orgs, role: memberships.role })
      .from(memberships)
      .innerJoin(orgs, eq(orgs.id, memberships.orgId))
      .where(
        and(
          eq(memberships.userId, ctx.user.id),
          input?.orgId ? eq(memberships.orgId, input.orgId) : undefined,
        ),
      )
      .orderBy(asc(memberships.createdAt), asc(orgs.id))
      .limit(1);
    if (!row) throw new RelaybaseError("NOT_FOUND", "No such org.");
    return next({ ctx: { org: row.org, role: row.role } });
  });

/** Plan changes spend the org's money: owners only. */
export const orgOwnerProcedure = orgProcedure.use(({ ctx, next }) => {
  if (ctx.role !== "owner") {
    throw new RelaybaseError("FORBIDDEN", "Only an owner of the org can change its plan or billing.");
  }
  return next();
});

/** Where Stripe sends the browser back to: the console's own pages, over http(s). */
export const returnUrlSchema = z.url({ protocol: /^https?$/ }).max(2_000);
