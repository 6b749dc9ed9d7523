import { RelaybaseError } from "@relaybase/protocol";
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { invites } from "../../../db/schema.js";
import { teamOwnerProcedure } from "./base.js";

/** Withdraws an open invite; its link stops working. */
export const revokeInvite = teamOwnerProcedure
  .input(z.object({ inviteId: z.string().regex(/^ivt_[A-Za-z0-9]{1,64}$/, "not an invite id") }))
  .output(z.object({ ok: z.literal(true) }))
  .mutation(async ({ ctx, input }) => {
    const [row] = await ctx.services.db
      .update(invites)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(invites.id, input.inviteId),
          eq(invites.orgId, ctx.org.id),
          isNull(invites.acceptedAt),
          isNull(invites.revokedAt),
        ),
      )
      .returning({ id: invites.id });
    if (!row) throw new RelaybaseError("NOT_FOUND", "No such open invite.");
    return { ok: true as const };
  });
