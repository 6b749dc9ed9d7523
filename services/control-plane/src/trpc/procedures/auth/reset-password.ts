import { RelaybaseError } from "@relaybase/protocol";
import { hashSecret } from "@relaybase/server-kit";
import { and, eq, gt, isNull } from "drizzle-orm";
import { z } from "zod";
import { loadMe } from "../../../accounts.js";
import { hashPassword } from "../../../auth/passwords.js";
import { passwordResets, sessions, users } from "../../../db/schema.js";
import { meOutput, passwordSchema } from "../../schemas.js";
import { publicProcedure } from "../../trpc.js";

const NOT_VALID =
  "This reset link is not valid: it was used, replaced by a newer one or has expired. Ask for a new one.";

/**
 * Sets a new password with a mailed reset link, once. Every session of the account ends
 * (whoever knew the old password is signed out everywhere), then this browser is signed in.
 * The link is checked before the password is hashed, so a bad link costs no argon2.
 */
export const resetPassword = publicProcedure
  .input(
    z.object({
      token: z.string().regex(/^pwr_[A-Za-z0-9]{1,64}$/, "not a reset link"),
      password: passwordSchema,
    }),
  )
  .output(meOutput)
  .mutation(async ({ ctx, input }) => {
    const { db, sessions: sessionStore } = ctx.services;
    const valid = and(
      eq(passwordResets.tokenHash, hashSecret(input.token)),
      isNull(passwordResets.usedAt),
      gt(passwordResets.expiresAt, new Date()),
    );
    const [found] = await db.select({ userId: passwordResets.userId }).from(passwordResets).where(valid);
    if (!found) throw new RelaybaseError("NOT_FOUND", NOT_VALID);
    const passwordHash = await hashPassword(input.password);
    await db.transaction(async (tx) => {
      // Taken with the same conditions: of two concurrent uses of one link, one wins.
      const [taken] = await tx
        .update(passwordResets)
        .set({ usedAt: new Date() })
        .where(and(valid, eq(passwordResets.userId, found.userId)))
        .returning({ id: passwordResets.id });
      if (!taken) throw new RelaybaseError("NOT_FOUND", NOT_VALID);
      await tx.update(users).set({ passwordHash }).where(eq(users.id, found.userId));
      await tx.delete(sessions).where(eq(sessions.userId, found.userId));
    });
    ctx.cookie.set(await sessionStore.issue(found.userId));
    return loadMe(db, found.userId);
  });
