import { RelaybaseError } from "@relaybase/protocol";
import { hashSecret } from "@relaybase/server-kit";
import { and, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import { invites, memberships, orgs } from "../../../db/schema.js";
import { authedProcedure } from "../../trpc.js";
import { roleSchema } from "./base.js";

const NOT_VALID = "This invite link is not valid: it was used, withdrawn or has expired. Ask for a new one.";

/**
 * Joins the org of an invite link. The link works once, before it expires, and only for
 * the account with the invited email, so a forwarded or leaked link admits no one else.
 */
export const accept = authedProcedure
  .input(z.object({ token: z.string().regex(/^inv_[A-Za-z0-9]{1,64}$/, "not an invite link") }))
  .output(z.object({ org: z.object({ id: z.string(), name: z.string() }), role: roleSchema }))
  .mutation(async ({ ctx, input }) => {
    const { db } = ctx.services;
    const now = new Date();
    return db.transaction(async (tx) => {
      const [row] = await tx
        .select({ invite: invites, orgName: orgs.name })
        .from(invites)
        .innerJoin(orgs, eq(orgs.id, invites.orgId))
        .where(
          and(
            eq(invites.tokenHash, hashSecret(input.token)),
            isNull(invites.acceptedAt),
            isNull(invites.revokedAt),
            gt(invites.expiresAt, now),
          ),
        );
      if (!row) throw new RelaybaseError("NOT_FOUND", NOT_VALID);
      const { invite } = row;
      if (invite.email !== ctx.user.email) {
        throw new RelaybaseError(
          "FORBIDDEN",
          `This invite is for ${invite.email}; you are signed in as ${ctx.user.email}. Log in with the invited account.`,
        );
      }
      const [taken] = await tx
        .update(invites)
        .set({ acceptedAt: now, acceptedBy: ctx.user.id })
        .where(and(eq(invites.id, invite.id), isNull(invites.acceptedAt)))
        .returning({ id: invites.id });
      if (!taken) throw new RelaybaseError("NOT_FOUND", NOT_VALID);
      await tx
        .insert(memberships)
        .values({ userId: ctx.user.id, orgId: invite.orgId, role: invite.role })
        .onConflictDoNothing();
      return { org: { id: invite.orgId, name: row.orgName }, role: invite.role };
    });
  });
