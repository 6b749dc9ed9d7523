import fastifyCookie from "@fastify/cookie";
import { RelaybaseError, wireError } from "@relaybase/protocol";
import { type Registry, toHttpError } from "@relaybase/server-kit";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { JSONWebKeySet } from "jose";
import { registerStripeWebhookRoute } from "./billing/webhook-route.js";
import { registerHealthRoutes } from "./http/health.js";
import { registerJwksRoute } from "./http/jwks.js";
import { registerOperatorRoutes } from "./http/operator.js";
import { registerTokenRoutes } from "./http/tokens.js";
import { type ControlPlaneDeps, openServices } from "./services.js";
import type { SigningKeys } from "./signing-keys.js";
import { createContextFactory, type Services } from "./trpc/context.js";
import { type AppRouter, appRouter } from "./trpc/router.js";
import type { UsageService } from "./usage/service.js";

export type { ControlPlaneDeps };

export interface ControlPlane {
  /** Routes registered, not listening: call `app.listen()` (or `inject`). */
  app: FastifyInstance;
  /** Public keys tokens verify against; for in-process verification in the all-in-one. */
  jwks(): Promise<JSONWebKeySet>;
  /** The `iss` of every token (PUBLIC_URL). */
  issuer: string;
  /** New signing key; the old one stays in the JWKS for `graceSeconds` (default 24 h + 1 min). */
  rotateSigningKey(options?: { graceSeconds?: number }): Promise<{ kid: string }>;
  /** The control plane's series (what METRICS_PORT serves when it runs alone). */
  metrics: Registry;
  /** Usage rollups: `record` is the embedded meter's sink; `rollup` runs one round now. */
  usage: Pick<UsageService, "record" | "rollup">;
  /** Writes every app to the tenant directory again (after Redis lost it). */
  reloadDirectory(): Promise<void>;
  /** Stops the HTTP server (if listening), then closes the database. Safe to call twice. */
  close(): Promise<void>;
}

/** JSON bodies (tRPC inputs, token requests) are small; refuse anything larger early. */
const BODY_LIMIT_BYTES = 256 * 1024;

/**
 * Wires the control plane: database (migrated), signing keys, sessions, the tenant
 * directory loaded from Postgres, and the HTTP routes (tRPC at /trpc, tokens, JWKS, health).
 */
export async function createControlPlane(deps: ControlPlaneDeps): Promise<ControlPlane> {
  const { services, signing, database } = await openServices(deps);
  let app: FastifyInstance;
  try {
    app = buildHttp(services, signing, database.ping, deps.isReady ?? (() => true));
    await app.ready();
  } catch (err) {
    await database.close();
    throw err;
  }
  const issuer = services.config.PUBLIC_URL;
  services.usage.start();
  deps.logger.info({ driver: database.driver, issuer }, "control plane ready");
  let closing: Promise<void> | undefined;
  return {
    app,
    issuer,
    metrics: services.metrics.registry,
    jwks: () => signing.jwks(),
    rotateSigningKey: (options) => signing.rotate(options),
    usage: services.usage,
    reloadDirectory: async () => {
      await services.tenants.loadAll();
    },
    close() {
      closing ??= (async () => {
        try {
          await app.close();
          await services.usage.close();
        } finally {
          await database.close();
        }
      })();
      return closing;
    },
  };
}

function buildHttp(
  services: Services,
  signing: SigningKeys,
  ping: () => Promise<void>,
  isReady: () => boolean,
): FastifyInstance {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; naming the narrower type keeps FastifyInstance plain.
    loggerInstance: services.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    // tRPC batches put every procedure name in the path.
    routerOptions: { maxParamLength: 5_000 },
    // Behind TRUST_PROXY proxies, req.ip is the client's address (the login and signup limits key on it).
    trustProxy: (_address: string, hop: number) => hop < services.config.TRUST_PROXY,
  });

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toHttpError(err, (unknown) =>
      request.log.error({ err: unknown }, "unhandled error in HTTP handler"),
    );
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: wireError("NOT_FOUND") }));

  app.register(fastifyCookie);
  app.register(fastifyTRPCPlugin<AppRouter>, {
    prefix: "/trpc",
    trpcOptions: {
      router: appRouter,
      createContext: createContextFactory(services),
      // A refusal that knows when a retry can succeed says so the HTTP way too, as REST does.
      responseMeta({ errors }) {
        const retryAfter = Math.max(
          0,
          ...errors.map((e) => (e.cause instanceof RelaybaseError ? (e.cause.retryAfter ?? 0) : 0)),
        );
        return retryAfter > 0 ? { headers: { "retry-after": String(retryAfter) } } : {};
      },
      onError({ error, path }) {
        // Procedure errors are logged where they are mapped; this catches the rest (context, transport).
        if (error.code === "INTERNAL_SERVER_ERROR" && error.cause) {
          services.logger.error({ err: error.cause, path }, "unhandled tRPC error");
        }
      },
    },
  });
  registerTokenRoutes(app, { db: services.db, signing });
  registerJwksRoute(app, signing);
  registerHealthRoutes(app, ping, isReady);
  registerStripeWebhookRoute(app, services.billing);
  registerOperatorRoutes(app, services);
  return app;
}
