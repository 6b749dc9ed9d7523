import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { memberships, users } from "../../../db/schema.js";
import { iso } from "../../schemas.js";
import { orgProcedure, roleSchema } from "./base.js";

/** The org and its members (any member may look). */
export const members = orgProcedure
  .output(
    z.object({
      org: z.object({ id: z.string(), name: z.string(), role: roleSchema }),
      members: z.array(
        z.object({
          userId: z.string(),
          email: z.string(),
          name: z.string().nullable(),
          role: roleSchema,
          joinedAt: z.string(),
        }),
      ),
    }),
  )
  .query(async ({ ctx }) => {
    const rows = await ctx.services.db
      .select({
        userId: users.id,
        email: users.email,
        name: users.name,
        role: memberships.role,
        joinedAt: memberships.createdAt,
      })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.orgId, ctx.org.id))
      .orderBy(asc(memberships.createdAt), asc(users.email));
    return {
      org: { id: ctx.org.id, name: ctx.org.name, role: ctx.role },
      members: rows.map((r) => ({ ...r, joinedAt: iso(r.joinedAt) })),
    };
  });
