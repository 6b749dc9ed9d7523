import type { ZodTypeProvider } from "@relaybase/server-kit";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { SigningKeys } from "../signing-keys.js";

/** Public halves only: an Ed25519 key as jose's `exportJWK` gives it, with its id. */
const publicJwk = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().describe("The public key, base64url."),
  kid: z.string(),
  alg: z.literal("EdDSA"),
  use: z.literal("sig"),
});
const jwksResponse = z.object({
  keys: z.array(publicJwk).describe("The signing key first, then keys still retiring."),
});

/** The public keys realtime nodes verify tokens with (jose `createRemoteJWKSet`). */
export function registerJwksRoute(server: FastifyInstance, signing: SigningKeys): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  const schema = {
    summary: "The public keys that tokens verify against (JWKS)",
    response: { 200: jwksResponse.describe("A JSON Web Key Set (RFC 7517); cache for up to 60 s.") },
  };
  app.get("/.well-known/jwks.json", { schema }, async (_request, reply) => {
    // Short: a verifier meeting an unknown kid refetches anyway (jose does).
    reply.header("cache-control", "public, max-age=60");
    // SigningKeys stores each public key as exportJWK gave it plus kid, alg and use
    // (signing-keys.ts); tests/e2e/openapi.test.ts checks the served set against this schema.
    return (await signing.jwks()) as z.infer<typeof jwksResponse>;
  });
}
