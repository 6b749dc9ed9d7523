import { RelaybaseError } from "@relaybase/protocol";
import { and, count, eq } from "drizzle-orm";
import { z } from "zod";
import { memberships } from "../../../db/schema.js";
import { roleSchema, teamOwnerProcedure } from "./base.js";

/** Makes a member an owner or an owner a member; the org always keeps an owner. */
export const setRole = teamOwnerProcedure
  .input(z.object({ userId: z.string().regex(/^usr_[A-Za-z0-9]{1,64}$/, "not a user id"), role: roleSchema }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    await ctx.services.db.transaction(async (tx) => {
      const mine = and(eq(memberships.orgId, ctx.org.id), eq(memberships.userId, input.userId));
      const [target] = await tx.select({ role: memberships.role }).from(memberships).where(mine);
      if (!target) throw new RelaybaseError("NOT_FOUND", "No such member.");
      if (target.role === "owner" && input.role !== "owner") {
        const [owners] = await tx
          .select({ n: count() })
          .from(memberships)
          .where(and(eq(memberships.orgId, ctx.org.id), eq(memberships.role, "owner")));
        if ((owners?.n ?? 0) <= 1) throw new RelaybaseError("CONFLICT", "The org needs at least one owner.");
      }
      await tx.update(memberships).set({ role: input.role }).where(mine);
    });
    return { ok: true as const };
  });
