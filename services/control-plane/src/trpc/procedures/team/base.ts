import { RelaybaseError } from "@relaybase/protocol";
import { z } from "zod";
import { MEMBER_ROLES } from "../../../db/schema.js";
import { orgProcedure } from "../billing/org.js";

/*
 * Team procedures act on one org: `{ orgId }` or, by default, the user's first org (the
 * org procedures of billing/org.ts). Any member may see the team; owners manage it.
 */

export { orgIdSchema, orgProcedure } from "../billing/org.js";

export const teamOwnerProcedure = orgProcedure.use(({ ctx, next }) => {
  if (ctx.role !== "owner")
    throw new RelaybaseError("FORBIDDEN", "Only an owner of the org can manage its team.");
  return next();
});

export const roleSchema = z.enum(MEMBER_ROLES);

/** How long an invite link works. */
export const INVITE_TTL_SECONDS = 7 * 24 * 3600;

export const inviteOutput = z.object({
  id: z.string(),
  email: z.string(),
  role: roleSchema,
  createdAt: z.string(),
  expiresAt: z.string(),
});
