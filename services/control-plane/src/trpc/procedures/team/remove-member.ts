import { RelaybaseError } from "@relaybase/protocol";
import { and, count, eq } from "drizzle-orm";
import { z } from "zod";
import { memberships } from "../../../db/schema.js";
import { orgProcedure } from "./base.js";

/**
 * Removes a member from the org: owners remove anyone, a member may remove only
 * themselves (leave). The org always keeps an owner.
 */
export const removeMember = orgProcedure
  .input(z.object({ userId: z.string().regex(/^usr_[A-Za-z0-9]{1,64}$/, "not a user id") }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    if (ctx.role !== "owner" && input.userId !== ctx.user.id) {
      throw new RelaybaseError("FORBIDDEN", "Only an owner of the org can remove other members.");
    }
    await ctx.services.db.transaction(async (tx) => {
      const [target] = await tx
        .select({ role: memberships.role })
        .from(memberships)
        .where(and(eq(memberships.orgId, ctx.org.id), eq(memberships.userId, input.userId)));
      if (!target) throw new RelaybaseError("NOT_FOUND", "No such member.");
      if (target.role === "owner") {
        const [owners] = await tx
          .select({ n: count() })
          .from(memberships)
          .where(and(eq(memberships.orgId, ctx.org.id), eq(memberships.role, "owner")));
        if ((owners?.n ?? 0) <= 1) {
          throw new RelaybaseError(
            "CONFLICT",
            "The org's last owner cannot be removed; make another member owner first.",
          );
        }
      }
      await tx
        .delete(memberships)
        .where(and(eq(memberships.orgId, ctx.org.id), eq(memberships.userId, input.userId)));
    });
    return { ok: true as const };
  });
