import { RelaybaseError } from "@relaybase/protocol";
import { capabilitiesSchema } from "@relaybase/protocol/schemas";
import {
  hashesEqual,
  hashSecret,
  isPublishableKey,
  MAX_TOKEN_TTL_SECONDS,
  secretKeyId,
} from "@relaybase/server-kit";
import { and, eq, isNull } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Database } from "../db/index.js";
import { apiKeys } from "../db/schema.js";
import type { SigningKeys } from "../signing-keys.js";

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export const tokenRequestSchema = z.strictObject({
  /** Becomes `sub`: the end user, for presence and `u:{appId}:{userId}` rooms. */
  userId: z.string().min(1).max(200).optional(),
  capabilities: capabilitiesSchema,
  /** Seconds; default one hour, at most a day. */
  ttl: z.number().int().min(1).max(MAX_TOKEN_TTL_SECONDS).default(DEFAULT_TOKEN_TTL_SECONDS),
});

/**
 * The app of a live secret key, read from Postgres (the source of truth): a key revoked
 * a moment ago fails here at once, whatever any cache says.
 */
export async function appIdOfSecretKey(db: Database, authorization: string | undefined): Promise<string> {
  const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
  if (!key) throw new RelaybaseError("INVALID_KEY", "Send your secret key as `Authorization: Bearer sk_…`.");
  if (isPublishableKey(key)) {
    throw new RelaybaseError(
      "WRONG_KEY_TYPE",
      "Minting tokens needs a secret key (sk_…), not a publishable one.",
    );
  }
  const keyId = secretKeyId(key);
  if (keyId === undefined) throw new RelaybaseError("INVALID_KEY");
  const [row] = await db
    .select({ appId: apiKeys.appId, hash: apiKeys.secretHash })
    .from(apiKeys)
    .where(and(eq(apiKeys.keyId, keyId), eq(apiKeys.kind, "secret"), isNull(apiKeys.revokedAt)));
  if (!row?.hash || !hashesEqual(row.hash, hashSecret(key))) throw new RelaybaseError("INVALID_KEY");
  return row.appId;
}

/** `POST /v1/tokens`: a customer's server mints a connection token for one of its users. */
export function registerTokenRoutes(
  app: FastifyInstance,
  deps: { db: Database; signing: SigningKeys },
): void {
  app.post("/v1/tokens", async (request, reply) => {
    const appId = await appIdOfSecretKey(deps.db, request.headers.authorization);
    const parsed = tokenRequestSchema.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "body";
      throw new RelaybaseError("BAD_REQUEST", `${where}: ${issue?.message ?? "invalid"}`);
    }
    const { userId, capabilities, ttl } = parsed.data;
    const { token, claims } = await deps.signing.issue({ appId, userId, capabilities, ttlSeconds: ttl });
    reply.header("cache-control", "no-store");
    request.log.info({ appId, jti: claims.jti, ttl }, "token issued");
    return { token, expiresAt: claims.exp };
  });
}
