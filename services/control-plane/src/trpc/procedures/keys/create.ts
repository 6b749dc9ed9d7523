import { RelaybaseError } from "@relaybase/protocol";
import { newPublishableKey, newSecretKey, randomId } from "@relaybase/server-kit";
import { and, count, eq, isNull } from "drizzle-orm";
import { z } from "zod";
import { apiKeys, KEY_KINDS } from "../../../db/schema.js";
import { keyToOutput } from "../../outputs.js";
import { displayNameSchema, keyOutput } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";

/** Enough for rotation and a few environments; every live key sits in the directory. */
const MAX_LIVE_KEYS_PER_APP = 20;

/**
 * Creates a key. A secret key is in this response and nowhere else, ever: only its
 * SHA-256 is stored.
 */
export const create = appProcedure
  .input(z.object({ kind: z.enum(KEY_KINDS), name: displayNameSchema }))
  .output(z.object({ key: keyOutput, secret: z.string().nullable() }))
  .mutation(async ({ ctx, input }) => {
    const { db, tenants } = ctx.services;
    const [live] = await db
      .select({ n: count() })
      .from(apiKeys)
      .where(and(eq(apiKeys.appId, ctx.app.id), isNull(apiKeys.revokedAt)));
    if ((live?.n ?? 0) >= MAX_LIVE_KEYS_PER_APP) {
      throw new RelaybaseError("BAD_REQUEST", `An app has at most ${MAX_LIVE_KEYS_PER_APP} live keys.`);
    }
    const id = `key_${randomId(16)}`;
    let secret: string | null = null;
    let values: typeof apiKeys.$inferInsert;
    if (input.kind === "secret") {
      const made = newSecretKey();
      secret = made.secret;
      values = {
        id,
        appId: ctx.app.id,
        kind: "secret",
        name: input.name,
        keyId: made.keyId,
        secretHash: made.hash,
      };
    } else {
      values = {
        id,
        appId: ctx.app.id,
        kind: "publishable",
        name: input.name,
        publishable: newPublishableKey(),
      };
    }
    const [key] = await db.insert(apiKeys).values(values).returning();
    await tenants.sync(ctx.app.id);
    return { key: keyToOutput(key!), secret };
  });
