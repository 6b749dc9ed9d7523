import { keyUseId } from "@relaybase/server-kit";
import { asc, eq } from "drizzle-orm";
import { z } from "zod";
import { apiKeys } from "../../../db/schema.js";
import { keyToOutput } from "../../outputs.js";
import { keyOutput } from "../../schemas.js";
import { appProcedure } from "../../trpc.js";

const listedKey = keyOutput.extend({
  /** When a node or REST instance last saw the key, to the minute; null when never or unknown. */
  lastUsedAt: z.string().nullable(),
});

/** Live and revoked keys of the app. Publishable keys show their value; secrets never. */
export const list = appProcedure.output(z.array(listedKey)).query(async ({ ctx }) => {
  const rows = await ctx.services.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.appId, ctx.app.id))
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
  const useIdOf = (row: (typeof rows)[number]) =>
    row.kind === "publishable"
      ? row.publishable
        ? keyUseId("publishable", row.publishable)
        : undefined
      : row.keyId
        ? keyUseId("secret", row.keyId)
        : undefined;
  const ids = rows.map(useIdOf).filter((id): id is string => id !== undefined);
  // Best effort: a store that does not answer leaves the times unknown, not the list.
  const used = await (ctx.services.keyUse?.lastUsed(ids) ?? Promise.resolve(new Map<string, number>())).catch(
    (err: unknown) => {
      ctx.log.warn({ err }, "key last-used times not read");
      return new Map<string, number>();
    },
  );
  return rows.map((row) => {
    const at = used.get(useIdOf(row) ?? "");
    return { ...keyToOutput(row), lastUsedAt: at === undefined ? null : new Date(at).toISOString() };
  });
});
