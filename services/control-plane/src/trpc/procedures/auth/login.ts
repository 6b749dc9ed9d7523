import { RelaybaseError } from "@relaybase/protocol";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { loadMe } from "../../../accounts.js";
import { verifyPassword } from "../../../auth/passwords.js";
import { users } from "../../../db/schema.js";
import { meOutput } from "../../schemas.js";
import { publicProcedure } from "../../trpc.js";

export const login = publicProcedure
  .input(
    z.object({
      email: z
        .string()
        .trim()
        .max(254)
        .transform((e) => e.toLowerCase()),
      password: z.string().max(256),
    }),
  )
  .output(meOutput)
  .mutation(async ({ ctx, input }) => {
    const { db, sessions, authLimits } = ctx.services;
    await authLimits.login(input.email, ctx.ip);
    const [user] = await db
      .select({ id: users.id, passwordHash: users.passwordHash })
      .from(users)
      .where(eq(users.email, input.email));
    const ok = await verifyPassword(user?.passwordHash, input.password);
    if (!user || !ok) throw new RelaybaseError("INVALID_CREDENTIALS");
    ctx.cookie.set(await sessions.issue(user.id));
    return loadMe(db, user.id);
  });
