import {
  createRedisClient,
  RedisKeyUseStore,
  RedisRateLimiter,
  RedisRoomHistory,
  RedisRoomOccupancy,
  RedisTenantDirectory,
  RedisUsage,
  RedisWebhookConsumer,
  readConnectionCounts,
} from "@relaybase/redis-kit";
import {
  closeOnSignals,
  createLogger,
  guardProcess,
  MemoryTenantDirectory,
  processRegistry,
  serveMetrics,
} from "@relaybase/server-kit";
import { createControlPlane } from "./app.js";
import { loadControlPlaneConfig } from "./config.js";

// Standalone control plane. With REDIS_URL it publishes every app's runtime config to the
// Redis tenant directory that realtime nodes and REST instances read; without it the
// directory lives only in this process.
const config = loadControlPlaneConfig();
const logger = createLogger("control-plane", config.LOG_LEVEL);
guardProcess(logger);
const redis = config.REDIS_URL
  ? createRedisClient(config.REDIS_URL, { logger, name: "control-plane" })
  : undefined;
await redis?.connect();
const directory = redis ? await RedisTenantDirectory.create(redis, { logger }) : new MemoryTenantDirectory();
// With Redis, usage comes from what nodes and REST instances flushed there, and peak
// connections from the nodes' connection leases.
const usage = redis
  ? { pending: new RedisUsage(redis), connectionCounts: () => readConnectionCounts(redis) }
  : undefined;
// With Redis, every replica counts login and signup attempts against the same budgets.
const rateLimiter = redis ? new RedisRateLimiter(redis) : undefined;
// With Redis, the console's room inspector reads what the realtime nodes keep there.
const rooms = redis
  ? { occupancy: new RedisRoomOccupancy(redis, { readOnly: true }), history: new RedisRoomHistory(redis) }
  : undefined;
const controlPlane = await createControlPlane({
  rooms: () => rooms,
  ...(redis ? { keyUse: new RedisKeyUseStore(redis) } : {}),
  config,
  directory,
  logger,
  ...(usage ? { usage } : {}),
  ...(rateLimiter ? { rateLimiter } : {}),
  metrics: processRegistry(),
  isReady: () => redis?.isReady ?? true,
});
await controlPlane.app.listen({ port: config.PORT, host: config.HOST });
const metricsServer =
  config.METRICS_PORT === undefined
    ? undefined
    : await serveMetrics(controlPlane.metrics, config.METRICS_PORT, config.HOST);
if (metricsServer) logger.info({ metricsPort: metricsServer.port }, "metrics listening");
// Redis without persistence forgets the directory on restart (and FLUSHALL clears it):
// write it again whenever its marker is gone. Readers answer UNAVAILABLE until then.
let stopWatching = () => {};
if (directory instanceof RedisTenantDirectory) {
  await directory.markLoaded();
  stopWatching = directory.watchForLoss(() => controlPlane.reloadDirectory());
}

// Webhook events the nodes wrote to Redis go into the outbox here, when this process dispatches.
const webhookRedis =
  config.REDIS_URL && config.WEBHOOK_DISPATCHER
    ? createRedisClient(config.REDIS_URL, { logger, name: "control-plane-webhooks" })
    : undefined;
await webhookRedis?.connect();
const webhookConsumer = webhookRedis ? new RedisWebhookConsumer(webhookRedis, { logger }) : undefined;
webhookConsumer?.start((events) => controlPlane.webhooks.ingest(events));

closeOnSignals(async () => {
  stopWatching();
  await webhookConsumer?.close();
  await webhookRedis?.quit();
  await controlPlane.close();
  await metricsServer?.close();
  if (directory instanceof RedisTenantDirectory) await directory.close();
  await redis?.quit();
}, logger);
