import fastifyCookie from "@fastify/cookie";
import { RelaybaseError, wireError } from "@relaybase/protocol";
import { type Registry, registerOpenApi, toHttpError, useZodSchemas } from "@relaybase/server-kit";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { JSONWebKeySet } from "jose";
import { registerStripeWebhookRoute } from "./billing/webhook-route.js";
import { DEFAULT_CONSOLE_DIR, registerConsoleRoutes } from "./http/console.js";
import { registerHealthRoutes } from "./http/health.js";
import { registerJwksRoute } from "./http/jwks.js";
import { registerOperatorRoutes } from "./http/operator.js";
import { registerTokenRoutes } from "./http/tokens.js";
import { type ControlPlaneDeps, openServices } from "./services.js";
import type { SigningKeys } from "./signing-keys.js";
import { createContextFactory, type Services } from "./trpc/context.js";
import { type AppRouter, appRouter } from "./trpc/router.js";
import type { UsageService } from "./usage/service.js";
import type { Webhooks } from "./webhooks/service.js";

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
  /** Webhook events into the outbox (the embedded node's emitter sink); resolves once committed. */
  webhooks: Pick<Webhooks, "ingest">;
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
    app = buildHttp(services, signing, database.ping, {
      consoleUrls: deps.consoleUrls ?? (() => ({})),
      isReady: deps.isReady ?? (() => true),
    });
    await app.ready();
  } catch (err) {
    await database.close();
    throw err;
  }
  const issuer = services.config.PUBLIC_URL;
  services.usage.start();
  services.webhooks.start();
  deps.logger.info({ driver: database.driver, issuer }, "control plane ready");
  let closing: Promise<void> | undefined;
  return {
    app,
    issuer,
    metrics: services.metrics.registry,
    jwks: () => signing.jwks(),
    rotateSigningKey: (options) => signing.rotate(options),
    usage: services.usage,
    webhooks: services.webhooks,
    reloadDirectory: async () => {
      await services.tenants.loadAll();
    },
    close() {
      closing ??= (async () => {
        try {
          await app.close();
          await services.webhooks.close();
          await services.usage.close();
          services.mailer.close();
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
  options: { consoleUrls: NonNullable<ControlPlaneDeps["consoleUrls"]>; isReady: () => boolean },
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

  useZodSchemas(app);
  app.register(fastifyCookie);
  registerOpenApi(app, {
    title: "Relaybase control plane",
    description:
      "Tokens and their public keys for your servers, health, the Stripe webhook and, with OPERATOR_TOKEN, " +
      "the operator's limit overrides. The console's tRPC API (/trpc) is private and not described here. " +
      "Generated from the routes' zod schemas.",
    securitySchemes: {
      secretKey: { type: "http", scheme: "bearer", description: "A secret key of the app, `sk_…`." },
      operatorToken: { type: "http", scheme: "bearer", description: "The server's OPERATOR_TOKEN." },
      stripeSignature: {
        type: "apiKey",
        in: "header",
        name: "Stripe-Signature",
        description: "Stripe's signature of the exact body, checked with STRIPE_WEBHOOK_SECRET.",
      },
    },
    hidePrefixes: ["/trpc", "/metrics"],
  });
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
  // In a plugin registered after the OpenAPI one, so that it sees every route.
  app.register(async (scope) => {
    registerTokenRoutes(scope, { db: services.db, signing });
    registerJwksRoute(scope, signing);
    registerHealthRoutes(scope, ping, options.isReady);
    registerStripeWebhookRoute(scope, services.billing);
    registerOperatorRoutes(scope, services);
  });
  // At the root, not in the plugin above: the console's pages are not part of the API document.
  const { config } = services;
  registerConsoleRoutes(app, {
    dir: config.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR,
    runtimeConfig: () => {
      const known = options.consoleUrls();
      return {
        controlPlaneUrl: known.controlPlane ?? config.PUBLIC_URL,
        realtimeUrl: config.REALTIME_PUBLIC_URL ?? known.realtime ?? null,
        restUrl: config.REST_PUBLIC_URL ?? known.rest ?? null,
        billingEnabled: services.billing.enabled,
      };
    },
  });
  return app;
}
