import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import { invites as invitesTable } from "../../../db/schema.js";
import { iso } from "../../schemas.js";
import { inviteOutput, teamOwnerProcedure } from "./base.js";

/** Invites not yet accepted, revoked or expired (owners only: they carry emails). */
export const invites = teamOwnerProcedure.output(z.array(inviteOutput)).query(async ({ ctx }) => {
  const rows = await ctx.services.db
    .select()
    .from(invitesTable)
    .where(
      and(
        eq(invitesTable.orgId, ctx.org.id),
        isNull(invitesTable.acceptedAt),
        isNull(invitesTable.revokedAt),
        gt(invitesTable.expiresAt, new Date()),
      ),
    )
    .orderBy(asc(invitesTable.createdAt));
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    role: r.role,
    createdAt: iso(r.createdAt),
    expiresAt: iso(r.expiresAt),
  }));
});
