import { RelaybaseError } from "@relaybase/protocol";
import { hashSecret, randomId } from "@relaybase/server-kit";
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { invites, memberships, users } from "../../../db/schema.js";
import { inviteMail } from "../../../mail/messages.js";
import { emailSchema, iso } from "../../schemas.js";
import { INVITE_TTL_SECONDS, inviteOutput, roleSchema, teamOwnerProcedure } from "./base.js";

/**
 * Invites an email address to the org and mails the link (`/invite/<token>`) when this
 * Relaybase sends mail (SMTP_URL). The answer carries the link too, for the owner to pass on
 * (the token is in this answer and that mail only); `emailed` says whether the mail went.
 * Inviting the same address again replaces its open invite.
 */
export const invite = teamOwnerProcedure
  .input(z.object({ email: emailSchema, role: roleSchema.default("member") }))
  .output(z.object({ invite: inviteOutput, token: z.string(), path: z.string(), emailed: z.boolean() }))
  .mutation(async ({ ctx, input }) => {
    const { db, mailer, config } = ctx.services;
    const [member] = await db
      .select({ userId: users.id })
      .from(users)
      .innerJoin(memberships, and(eq(memberships.userId, users.id), eq(memberships.orgId, ctx.org.id)))
      .where(eq(users.email, input.email));
    if (member) throw new RelaybaseError("CONFLICT", `${input.email} is already a member.`);
    const token = `inv_${randomId(32)}`;
    const expiresAt = new Date(Date.now() + INVITE_TTL_SECONDS * 1000);
    const row = await db.transaction(async (tx) => {
      await tx
        .update(invites)
        .set({ revokedAt: new Date() })
        .where(
          and(
            eq(invites.orgId, ctx.org.id),
            eq(invites.email, input.email),
            isNull(invites.acceptedAt),
            isNull(invites.revokedAt),
          ),
        );
      const [created] = await tx
        .insert(invites)
        .values({
          id: `ivt_${randomId(16)}`,
          orgId: ctx.org.id,
          email: input.email,
          role: input.role,
          tokenHash: hashSecret(token),
          invitedBy: ctx.user.id,
          expiresAt,
        })
        .returning();
      return created!;
    });
    const path = `/invite/${token}`;
    const mail = inviteMail(
      input.email,
      ctx.org.name,
      ctx.user.name ?? ctx.user.email,
      `${config.PUBLIC_URL}${path}`,
      INVITE_TTL_SECONDS / 86_400,
    );
    // A mail that fails leaves the invite as it is: the owner still has the link.
    const emailed = await mailer.send(mail).then(
      () => mailer.delivers,
      (err: unknown) => {
        ctx.log.warn({ err }, "invite mail failed");
        return false;
      },
    );
    return {
      emailed,
      invite: {
        id: row.id,
        email: row.email,
        role: row.role,
        createdAt: iso(row.createdAt),
        expiresAt: iso(row.expiresAt),
      },
      token,
      path,
    };
  });
