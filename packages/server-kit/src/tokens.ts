import { RelaybaseError } from "@relaybase/protocol";
import { capabilitiesSchema } from "@relaybase/protocol/schemas";
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import { verifyCompactJws } from "./jws.js";

/**
 * The connection token contract (DESIGN §3), shared by the issuer (control plane) and
 * the verifier (realtime node) so they cannot drift apart.
 */
export const TOKEN_AUDIENCE = "relaybase:realtime";
/** Asymmetric algorithms only: nodes hold public keys, never a shared secret. */
export const TOKEN_ALGORITHMS = ["EdDSA", "ES256"] as const;
export const MAX_TOKEN_TTL_SECONDS = 24 * 60 * 60;

export const tokenClaimsSchema = z.object({
  iss: z.string(),
  aud: z.literal(TOKEN_AUDIENCE),
  sub: z.string().min(1).max(200).optional(),
  app: z.string().min(1),
  caps: capabilitiesSchema,
  /**
   * The console's live tail: may subscribe to the app's DEBUG_ROOM (docs/console.md). Only
   * the control plane's `apps.debugToken` sets it; `POST /v1/tokens` cannot.
   */
  debug: z.literal(true).optional(),
  exp: z.number().int(),
  iat: z.number().int(),
  jti: z.string(),
});
export type TokenClaims = z.infer<typeof tokenClaimsSchema>;

/**
 * Verifies a connection token and maps every failure to a code: expired → TOKEN_EXPIRED,
 * anything else wrong (signature, alg none or HS*, audience, issuer, claims) → TOKEN_INVALID.
 * The signature is checked by `verifyCompactJws` (node:crypto, see jws.ts); the claims in
 * claims after it: their shape (the audience is part of it), the issuer, then the times.
 */
export async function verifyToken(
  token: string,
  keys: JWTVerifyGetKey,
  issuer: string,
): Promise<TokenClaims> {
  let payload: unknown;
  try {
    ({ payload } = await verifyCompactJws(token, keys, TOKEN_ALGORITHMS));
  } catch {
    // A bad signature, an unknown key id, a malformed token: the client cannot tell them apart.
    throw new RelaybaseError("TOKEN_INVALID");
  }
  const claims = tokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw new RelaybaseError("TOKEN_INVALID", "The token's claims are malformed.");
  const { iss, exp, iat } = claims.data;
  if (iss !== issuer) throw new RelaybaseError("TOKEN_INVALID");
  const now = Math.floor(Date.now() / 1000);
  const nbf = (payload as { nbf?: unknown }).nbf;
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now)) throw new RelaybaseError("TOKEN_INVALID");
  if (exp <= now) throw new RelaybaseError("TOKEN_EXPIRED");
  if (exp - iat > MAX_TOKEN_TTL_SECONDS) {
    throw new RelaybaseError("TOKEN_INVALID", "The token lives longer than 24 hours.");
  }
  return claims.data;
}

/**
 * Verification keys from a JWKS held in-process (all-in-one mode), reloaded when a
 * token names a key id we do not have yet (after a rotation).
 */
export function refreshingLocalJwks(load: () => Promise<JSONWebKeySet>): JWTVerifyGetKey {
  let current: Promise<JWTVerifyGetKey> | undefined;
  const reload = () => {
    current = load().then((set) => createLocalJWKSet(set));
    return current;
  };
  return async (header, token) => {
    const keys = await (current ?? reload());
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      return (await reload())(header, token);
    }
  };
}
