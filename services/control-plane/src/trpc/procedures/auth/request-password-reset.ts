import { hashSecret, randomId } from "@relaybase/server-kit";
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../../db/index.js";
import { passwordResets, users } from "../../../db/schema.js";
import type { Mailer } from "../../../mail/mailer.js";
import { passwordResetMail } from "../../../mail/messages.js";
import { emailSchema } from "../../schemas.js";
import { publicProcedure } from "../../trpc.js";

export const PASSWORD_RESET_TTL_SECONDS = 60 * 60;
export const RESET_PATH = "/reset-password/";

/**
 * Mails a reset link to the account with this email, if there is one. The answer is the
 * same whether or not it exists, and comes before the lookup is done, so neither the answer
 * nor its timing tells who has an account. Limited per email and per IP before any work.
 * `mailed` says whether this Relaybase sends mail at all (SMTP_URL), not whether it did.
 */
export const requestPasswordReset = publicProcedure
  .input(z.object({ email: emailSchema }))
  .output(z.object({ ok: z.literal(true), mailed: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    const { db, mailer, authLimits, config, logger } = ctx.services;
    await authLimits.passwordReset(input.email, ctx.ip);
    void mailResetLink(db, mailer, input.email, config.PUBLIC_URL).catch((err: unknown) =>
      logger.error({ err }, "password reset mail failed"),
    );
    return { ok: true as const, mailed: mailer.delivers };
  });

async function mailResetLink(db: Database, mailer: Mailer, email: string, publicUrl: string): Promise<void> {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  if (!user) return;
  const token = `pwr_${randomId(32)}`;
  const now = new Date();
  await db.transaction(async (tx) => {
    // Only the newest link works: an older one (maybe in a forwarded mail) is withdrawn.
    await tx
      .update(passwordResets)
      .set({ usedAt: now })
      .where(and(eq(passwordResets.userId, user.id), isNull(passwordResets.usedAt)));
    await tx.insert(passwordResets).values({
      id: `pwr_${randomId(16)}`,
      userId: user.id,
      tokenHash: hashSecret(token),
      expiresAt: new Date(now.getTime() + PASSWORD_RESET_TTL_SECONDS * 1000),
    });
  });
  // The link's host is PUBLIC_URL, never the request's Host header (which a caller chooses).
  await mailer.send(
    passwordResetMail(email, `${publicUrl}${RESET_PATH}${token}`, PASSWORD_RESET_TTL_SECONDS / 60),
  );
}
