import { RelaybaseError } from "@relaybase/protocol";
import { randomId } from "@relaybase/server-kit";
import { z } from "zod";
import { loadMe } from "../../../accounts.js";
import { hashPassword } from "../../../auth/passwords.js";
import { isUniqueViolation } from "../../../db/index.js";
import { memberships, orgs, users } from "../../../db/schema.js";
import { displayNameSchema, emailSchema, meOutput, passwordSchema } from "../../schemas.js";
import { publicProcedure } from "../../trpc.js";

/**
 * Creates a user, their personal org (free plan) and the owner membership; signs them in.
 * Limited per client IP (SIGNUPS_PER_HOUR) before any work, argon2 included.
 */
export const signup = publicProcedure
  .input(z.object({ email: emailSchema, password: passwordSchema, name: displayNameSchema.optional() }))
  .output(meOutput)
  .mutation(async ({ ctx, input }) => {
    const { db, sessions, authLimits } = ctx.services;
    await authLimits.signup(ctx.ip);
    const passwordHash = await hashPassword(input.password);
    const userId = `usr_${randomId(16)}`;
    const orgId = `org_${randomId(16)}`;
    const orgName = `${input.name ?? input.email.split("@")[0]}'s org`;
    try {
      await db.transaction(async (tx) => {
        await tx.insert(users).values({ id: userId, email: input.email, name: input.name, passwordHash });
        await tx.insert(orgs).values({ id: orgId, name: orgName });
        await tx.insert(memberships).values({ userId, orgId, role: "owner" });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new RelaybaseError("CONFLICT", "An account with this email exists.");
      throw err;
    }
    ctx.cookie.set(await sessions.issue(userId));
    return loadMe(db, userId);
  });
