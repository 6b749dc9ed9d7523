import { isErrorCode, RelaybaseError } from "@relaybase/protocol";
import {
  type ConnectionCounter,
  type DebugTap,
  errorResponses,
  type KeyUse,
  type Limiters,
  type Logger,
  MemoryPresenceStore,
  MemoryRoomHistory,
  MemoryRoomOccupancy,
  memoryLimiters,
  type PresenceReader,
  type Publisher,
  type Registry,
  type RoomHistory,
  type RoomOccupancyReader,
  recordingKeyUse,
  registerOpenApi,
  type TenantDirectory,
  toHttpError,
  useZodSchemas,
  type ZodTypeProvider,
} from "@relaybase/server-kit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { z } from "zod";
import type { RestPublishApiConfig } from "./config.js";
import { registerHistoryRoutes } from "./history-routes.js";
import { RestApiMetrics } from "./metrics.js";
import { registerPresenceRoutes } from "./presence-routes.js";
import {
  appKeyErrors,
  appParams,
  authorizeApp,
  authorizedAppId,
  registerPublishRoutes,
} from "./publish-routes.js";
import { registerRoomRoutes } from "./room-routes.js";
import { statsResponse } from "./schemas.js";
import { registerUserRoutes } from "./user-routes.js";

export interface RestPublishApiDeps {
  config: Pick<RestPublishApiConfig, "BODY_LIMIT_BYTES"> &
    Partial<Pick<RestPublishApiConfig, "METRICS_APP_LABELS" | "REQUEST_LOG">>;
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
  /** Presence members for `GET …/rooms/:room/presence`: Redis in a cluster, the node's when embedded. */
  presence?: PresenceReader;
  /** Room history for `GET …/rooms/:room/history`: the publisher's (Redis in a cluster, the node's when embedded). */
  history?: RoomHistory;
  /**
   * The app's debug tail hears of refused requests (publishes are the publisher's to
   * report): the publisher's tap; none by default.
   */
  debug?: DebugTap;
  /** Records each secret key's use, at most once a minute per key (the console's "last used"). */
  keyUse?: KeyUse;
  /** Subscribers per room for `GET …/rooms` and `GET …/rooms/:room`: Redis in a cluster, the node's when embedded. */
  occupancy?: RoomOccupancyReader;
}

const metricsByApp = new WeakMap<FastifyInstance, RestApiMetrics>();

/** The series of a REST API made by `createRestPublishApi`. */
export function metricsOf(app: FastifyInstance): RestApiMetrics {
  const metrics = metricsByApp.get(app);
  if (!metrics) throw new Error("not a REST publish API");
  return metrics;
}

export function createRestPublishApi(given: RestPublishApiDeps): FastifyInstance {
  // Every secret key the routes find is recorded as used (the console's key list).
  const deps = { ...given, directory: recordingKeyUse(given.directory, given.keyUse) };
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    // Room names and user ids are up to 200 characters, more once percent-encoded
    // (Fastify's default, 100, would answer a long one 404).
    routerOptions: { maxParamLength: 1024 },
    // Per-request info lines cost more than the rest of a publish's bookkeeping (REQUEST_LOG).
    logController: new LogController({ disableRequestLogging: !deps.config.REQUEST_LOG }),
  });
  const metrics = new RestApiMetrics(deps.metrics, deps.config.METRICS_APP_LABELS);
  metricsByApp.set(app, metrics);
  metrics.instrument(app);
  // Fastify's "request completed" line is written with reply.log: give it the app too.
  // Only when those lines are on: an async hook is a promise and a hook run per request.
  if (deps.config.REQUEST_LOG) {
    app.addHook("onSend", async (req, reply) => {
      if (authorizedAppId(req) !== undefined) reply.log = req.log;
    });
  }

  app.setErrorHandler((err, req, reply) => {
    const { status, body, headers } = toHttpError(err, (e) => req.log.error({ err: e }, "unhandled error"));
    const code = body.error.code;
    if (isErrorCode(code)) {
      const appId = authorizedAppId(req);
      metrics.refused(appId, code);
      // Only once the key named the app: a stranger's wrong key reaches nobody's tail.
      if (appId !== undefined) {
        deps.debug?.emit(appId, () => ({
          kind: "refused",
          request: `${req.method} ${req.routeOptions.url}`,
          code,
        }));
      }
    }
    reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler((_req, reply) => {
    const { status, body } = toHttpError({ statusCode: 404 }, () => {});
    reply.code(status).send(body);
  });

  useZodSchemas(app);
  registerOpenApi(app, {
    title: "Relaybase REST publish API",
    description: "Publish from your servers into your app's rooms. Generated from the routes' zod schemas.",
    securitySchemes: { secretKey: { type: "http", scheme: "bearer", description: "A secret key, `sk_…`." } },
  });
  // One budget for room and user publishes.
  const limiters = deps.limiters ?? memoryLimiters();
  // In a plugin registered after the OpenAPI one, so that it sees every route.
  app.register(async (scope) => {
    registerPublishRoutes(scope, { ...deps, limiters });
    const presence = deps.presence ?? new MemoryPresenceStore();
    const history = deps.history ?? new MemoryRoomHistory();
    registerRoomRoutes(scope, {
      directory: deps.directory,
      occupancy: deps.occupancy ?? new MemoryRoomOccupancy(),
      presence,
      history,
    });
    registerPresenceRoutes(scope, { directory: deps.directory, presence });
    registerHistoryRoutes(scope, { directory: deps.directory, history });
    registerUserRoutes(scope, {
      directory: deps.directory,
      publisher: deps.publisher,
      limiters,
      logger: deps.logger,
    });
    registerStatusRoutes(scope, deps);
  });
  return app;
}

const ok = z.object({ ok: z.literal(true) }).describe("Yes.");

function registerStatusRoutes(server: FastifyInstance, deps: RestPublishApiDeps): void {
  const app = server.withTypeProvider<ZodTypeProvider>();
  app.get(
    "/v1/apps/:appId/stats",
    {
      schema: {
        summary: "Connections of the app across the cluster",
        security: [{ secretKey: [] }],
        params: appParams,
        response: {
          200: statsResponse.describe("The app's live connections."),
          ...errorResponses(...appKeyErrors, "UNAVAILABLE"),
        },
      },
    },
    async (req) => {
      const tenant = await authorizeApp(req, deps.directory);
      return { connections: await deps.connections.count(tenant.appId) };
    },
  );
  app.get("/healthz", { schema: { summary: "The process is up", response: { 200: ok } } }, async () => ({
    ok: true as const,
  }));
  app.get(
    "/readyz",
    {
      schema: {
        summary: "Ready for traffic: in a cluster, Redis answers",
        response: { 200: ok, ...errorResponses("UNAVAILABLE") },
      },
    },
    async () => {
      if (deps.isReady && !deps.isReady()) throw new RelaybaseError("UNAVAILABLE", "Redis is not reachable.");
      return { ok: true as const };
    },
  );
}
