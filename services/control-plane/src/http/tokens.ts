import { RelaybaseError } from "@relaybase/protocol";
import { capabilitiesSchema } from "@relaybase/protocol/schemas";
import {
  errorResponses,
  hashesEqual,
  hashSecret,
  MAX_TOKEN_TTL_SECONDS,
  secretKeyFrom,
  secretKeyId,
  throwIfInvalid,
  type ZodTypeProvider,
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
  userId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe("Your user's id; becomes the token's `sub` and the `from.userId` of their publishes."),
  capabilities: capabilitiesSchema.describe(
    'Room patterns (a trailing `*` matches any rest) to operations, e.g. `{ "chat:*": ["subscribe", "publish"] }`; they replace the app\'s anonymous capabilities, so `{}` allows nothing.',
  ),
  /** Seconds; default one hour, at most a day. */
  ttl: z
    .number()
    .int()
    .min(1)
    .max(MAX_TOKEN_TTL_SECONDS)
    .default(DEFAULT_TOKEN_TTL_SECONDS)
    .describe("Lifetime in seconds."),
});

export const tokenResponseSchema = z.object({
  token: z.string().describe("The JWT (EdDSA, with `kid`): the client's handshake `auth.token`."),
  expiresAt: z.number().int().describe("When the token expires, in Unix seconds: its `exp` claim."),
});

/**
 * The app of a live secret key, read from Postgres (the source of truth): a key revoked
 * a moment ago fails here at once, whatever any cache says.
 */
export async function appIdOfSecretKey(db: Database, authorization: string | undefined): Promise<string> {
  const key = secretKeyFrom(authorization, "Minting tokens");
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
  server: FastifyInstance,
  deps: { db: Database; signing: SigningKeys },
): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const schema = {
    summary: "Mint a connection token for one of your users",
    description:
      "Call it from your server; hand the token to your client (e.g. from your own `authEndpoint`).",
    security: [{ secretKey: [] }],
    body: tokenRequestSchema,
    response: {
      200: tokenResponseSchema.describe("The token and when it expires."),
      ...errorResponses("BAD_REQUEST", "INVALID_KEY", "WRONG_KEY_TYPE", "MESSAGE_TOO_LARGE"),
    },
  };
  // The key is checked before the body: attachValidation, then throwIfInvalid.
  app.post("/v1/tokens", { attachValidation: true, schema }, async (request, reply) => {
    const appId = await appIdOfSecretKey(deps.db, request.headers.authorization);
    throwIfInvalid(request);
    const { userId, capabilities, ttl } = request.body;
    const { token, claims } = await deps.signing.issue({ appId, userId, capabilities, ttlSeconds: ttl });
    reply.header("cache-control", "no-store");
    request.log.info({ appId, jti: claims.jti, ttl }, "token issued");
    return { token, expiresAt: claims.exp };
  });
}
