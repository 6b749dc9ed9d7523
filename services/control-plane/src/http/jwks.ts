import type { FastifyInstance } from "fastify";
import type { SigningKeys } from "../signing-keys.js";

/** The public keys realtime nodes verify tokens with (jose `createRemoteJWKSet`). */
export function registerJwksRoute(app: FastifyInstance, signing: SigningKeys): void {
  app.get("/.well-known/jwks.json", async (_request, reply) => {
    // Short: a verifier meeting an unknown kid refetches anyway (jose does).
    reply.header("cache-control", "public, max-age=60");
    return signing.jwks();
  });
}
