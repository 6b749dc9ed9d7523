import {
  ConnectionLeases,
  openClusterServices,
  RedisPresence,
  RedisRoomHistory,
  RedisRoomOccupancy,
  redisLimiters,
  StreamEmitterFanout,
} from "@relaybase/redis-kit";
import {
  ConfigError,
  closeOnSignals,
  createLogger,
  guardProcess,
  Publisher,
  PublishMetrics,
  processRegistry,
  serveMetrics,
} from "@relaybase/server-kit";
import { createRestPublishApi } from "./app.js";
import { loadRestPublishApiConfig } from "./config.js";

// A REST instance of a cluster: it stores each message in its room's history and writes
// it to the adapter stream every realtime node reads; it holds no sockets.
const config = loadRestPublishApiConfig();
if (!config.REDIS_URL) {
  throw new ConfigError("The REST API runs alone only in a cluster: set REDIS_URL (or run `npm start`).");
}
const logger = createLogger("rest-publish-api", config.LOG_LEVEL);
guardProcess(logger);
// Messages published here are counted here (deliveries are counted by the nodes).
const { redis, directory, usage, close } = await openClusterServices(config.REDIS_URL, {
  name: "rest-publish-api",
  logger,
  usageFlushMs: config.USAGE_FLUSH_MS,
});
const registry = processRegistry();
// This process stores what it publishes: the history writes and messages are its series.
const metrics = new PublishMetrics(registry, config.METRICS_APP_LABELS);
const history = metrics.timed(new RedisRoomHistory(redis));
const publisher = new Publisher(
  history,
  new StreamEmitterFanout(redis, { maxLen: config.ADAPTER_MAX_LEN }),
  metrics.observer(usage),
);
const connections = new ConnectionLeases(redis, { readOnly: true });
const app = createRestPublishApi({
  config,
  directory,
  publisher,
  connections,
  // Reads the members the realtime nodes hold in Redis; holds no lease itself.
  presence: new RedisPresence(redis, { readOnly: true }),
  history,
  // Reads the subscriber counts the realtime nodes publish under their leases.
  occupancy: new RedisRoomOccupancy(redis, { readOnly: true }),
  // REST publishes per second per app and the daily quota, shared with every node and instance.
  limiters: redisLimiters(redis),
  logger,
  isReady: () => redis.isReady,
  metrics: registry,
});
await app.listen({ port: config.PORT, host: config.HOST });
const metricsServer =
  config.METRICS_PORT === undefined
    ? undefined
    : await serveMetrics(registry, config.METRICS_PORT, config.HOST);
if (metricsServer) logger.info({ metricsPort: metricsServer.port }, "metrics listening");

closeOnSignals(async () => {
  await app.close();
  await Promise.allSettled([close(), metricsServer?.close()]);
}, logger);
