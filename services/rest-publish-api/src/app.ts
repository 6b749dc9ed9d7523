import { isErrorCode, RelaybaseError } from "@relaybase/protocol";
import {
  type ConnectionCounter,
  type Limiters,
  type Logger,
  memoryLimiters,
  type Publisher,
  type Registry,
  type TenantDirectory,
  toHttpError,
} from "@relaybase/server-kit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { RestPublishApiConfig } from "./config.js";
import { RestApiMetrics } from "./metrics.js";
import { openApiDocument } from "./openapi.js";
import { authorizeApp, authorizedAppId, registerPublishRoutes } from "./publish-routes.js";

export interface RestPublishApiDeps {
  config: Pick<RestPublishApiConfig, "BODY_LIMIT_BYTES"> &
    Partial<Pick<RestPublishApiConfig, "METRICS_APP_LABELS">>;
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
  /**
   * Prometheus registry for this API's series; a new one by default (read it back as
   * `metricsOf(app)`). Process metrics are its owner's.
   */
  metrics?: Registry;
}

const metricsByApp = new WeakMap<FastifyInstance, RestApiMetrics>();

/** The series of a REST API made by `createRestPublishApi`. */
export function metricsOf(app: FastifyInstance): RestApiMetrics {
  const metrics = metricsByApp.get(app);
  if (!metrics) throw new Error("not a REST publish API");
  return metrics;
}

export function createRestPublishApi(deps: RestPublishApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
  });
  const metrics = new RestApiMetrics(deps.metrics, deps.config.METRICS_APP_LABELS);
  metricsByApp.set(app, metrics);
  metrics.instrument(app);
  // Fastify's "request completed" line is written with reply.log: give it the app too.
  app.addHook("onSend", async (req, reply) => {
    if (authorizedAppId(req) !== undefined) reply.log = req.log;
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, headers } = toHttpError(err, (e) => req.log.error({ err: e }, "unhandled error"));
    if (isErrorCode(body.error.code)) metrics.refused(authorizedAppId(req), body.error.code);
    reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((_req, reply) => {
    const { status, body } = toHttpError({ statusCode: 404 }, () => {});
    reply.code(status).send(body);
  });

  registerPublishRoutes(app, { ...deps, limiters: deps.limiters ?? memoryLimiters() });
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
