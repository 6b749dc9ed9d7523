import { RelaybaseError } from "@relaybase/protocol";
import { asc, eq } from "drizzle-orm";
import type { z } from "zod";
import type { Database } from "./db/index.js";
import { memberships, orgs, users } from "./db/schema.js";
import { iso, type meOutput } from "./trpc/schemas.js";

/** The signed-in user and the orgs they belong to, as `auth.me` and friends return them. */
export async function loadMe(db: Database, userId: string): Promise<z.infer<typeof meOutput>> {
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  if (!user) throw new RelaybaseError("UNAUTHENTICATED");
  const rows = await db
    .select({ id: orgs.id, name: orgs.name, plan: orgs.plan, role: memberships.role })
    .from(memberships)
    .innerJoin(orgs, eq(orgs.id, memberships.orgId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.createdAt), asc(orgs.id));
  return {
    user: { id: user.id, email: user.email, name: user.name, createdAt: iso(user.createdAt) },
    orgs: rows,
  };
}
