import { RelaybaseError } from "@relaybase/protocol";
import { and, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { apiKeys } from "../../../db/schema.js";
import { keyToOutput } from "../../outputs.js";
import { keyIdSchema, keyOutput } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";

/** Revokes a key (idempotent). It stops working everywhere once the directory has the app's new state. */
export const revoke = appProcedure
  .input(z.object({ keyId: keyIdSchema }))
  .output(keyOutput)
  .mutation(async ({ ctx, input }) => {
    const { db, tenants } = ctx.services;
    const mine = and(eq(apiKeys.id, input.keyId), eq(apiKeys.appId, ctx.app.id));
    const [revoked] = await db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(mine, isNull(apiKeys.revokedAt)))
      .returning();
    const key = revoked ?? (await db.select().from(apiKeys).where(mine))[0];
    if (!key) throw new RelaybaseError("NOT_FOUND", "No such key.");
    await tenants.sync(ctx.app.id);
    return keyToOutput(key);
  });
