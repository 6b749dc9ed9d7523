import { RelaybaseError } from "@relaybase/protocol";
import {
  type ConnectionCounter,
  type Limiters,
  type Logger,
  MemoryPresenceStore,
  memoryLimiters,
  type PresenceReader,
  type Publisher,
  type TenantDirectory,
  toHttpError,
} from "@relaybase/server-kit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { RestPublishApiConfig } from "./config.js";
import { openApiDocument } from "./openapi.js";
import { registerPresenceRoutes } from "./presence-routes.js";
import { authorizeApp, registerPublishRoutes } from "./publish-routes.js";

export interface RestPublishApiDeps {
  config: Pick<RestPublishApiConfig, "BODY_LIMIT_BYTES">;
  directory: TenantDirectory;
  /** The publish path: in-process with a realtime node when embedded. */
  publisher: Publisher;
  logger: Logger;
  /** Connection counts across the cluster, for `GET /v1/apps/:appId/stats`. */
  connections: Pick<ConnectionCounter, "count">;
  /** Whether the dependencies answer (Redis in a cluster); /readyz reports it. */
  isReady?: () => boolean;
  /** REST publish rate and daily quota, shared with the realtime nodes (docs/limits.md); in memory by default. */
  limiters?: Limiters;
  /** Presence members for `GET …/rooms/:room/presence`: Redis in a cluster, the node's when embedded. */
  presence?: PresenceReader;
}

export function createRestPublishApi(deps: RestPublishApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, headers } = toHttpError(err, (e) => req.log.error({ err: e }, "unhandled error"));
    reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((_req, reply) => {
    const { status, body } = toHttpError({ statusCode: 404 }, () => {});
    reply.code(status).send(body);
  });

  registerPublishRoutes(app, { ...deps, limiters: deps.limiters ?? memoryLimiters() });
  registerPresenceRoutes(app, {
    directory: deps.directory,
    presence: deps.presence ?? new MemoryPresenceStore(),
  });
  app.get("/v1/apps/:appId/stats", async (req) => {
    const tenant = await authorizeApp(req, deps.directory);
    return { connections: await deps.connections.count(tenant.appId) };
  });

  const document = openApiDocument();
  app.get("/openapi.json", async () => document);
  app.get("/healthz", async () => ({ ok: true }));
  app.get("/readyz", async () => {
    if (deps.isReady && !deps.isReady()) throw new RelaybaseError("UNAVAILABLE", "Redis is not reachable.");
    return { ok: true };
  });
  return app;
}
