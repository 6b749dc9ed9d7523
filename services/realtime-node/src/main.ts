import {
  ConnectionLeases,
  openClusterServices,
  RedisDebugWatchers,
  RedisKeyUseStore,
  RedisPresence,
  RedisRoomHistory,
  RedisRoomOccupancy,
  RedisRoomStates,
  RedisWebhookStream,
  redisLimiters,
} from "@relaybase/redis-kit";
import {
  ConfigError,
  closeOnSignals,
  createLogger,
  guardProcess,
  KeyUse,
  processRegistry,
  serveMetrics,
} from "@relaybase/server-kit";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { createRemoteJWKSet } from "jose";
import { createClient } from "redis";
import { createRealtimeNode } from "./app.js";
import { loadRealtimeNodeConfig } from "./config.js";
import { observeAdapterLag } from "./metrics.js";

// A realtime node of a cluster: Redis carries the adapter stream, room history and the
// tenant directory; tokens are verified against the control plane's JWKS.
const config = loadRealtimeNodeConfig();
if (!config.REDIS_URL) {
  throw new ConfigError("A realtime node runs alone only in a cluster: set REDIS_URL (or run `npm start`).");
}
const logger = createLogger("realtime-node", config.LOG_LEVEL);
guardProcess(logger);

const { redis, directory, usage, close } = await openClusterServices(config.REDIS_URL, {
  name: "realtime-node",
  logger,
  usageFlushMs: config.USAGE_FLUSH_MS,
});
// The adapter keeps its offline queue: its stream reader waits for Redis to return
// instead of spinning on errors, and it resumes reading by itself.
const adapterRedis = createClient({ url: config.REDIS_URL, name: "realtime-node-adapter" });
adapterRedis.on("error", () => {});
await adapterRedis.connect();

// Which apps a console watches, cluster-wide: this node adds those whose debug room it holds.
const debugWatchers = await RedisDebugWatchers.create(redis, { logger });

const keyUse = new KeyUse(new RedisKeyUseStore(redis), { logger });

// Webhook events go to the Redis stream the dispatcher reads (kept and re-sent if Redis loses them).
const webhooks = new RedisWebhookStream(redis, { logger });
const node = createRealtimeNode({
  debugWatchers,
  keyUse,
  config,
  directory,
  history: new RedisRoomHistory(redis),
  connections: new ConnectionLeases(redis, { leaseMs: config.CONNECTION_LEASE_MS }),
  // Members under this node's lease: a dead node's leave is announced by a survivor (docs/presence.md).
  presence: new RedisPresence(redis, { leaseMs: config.PRESENCE_LEASE_MS, logger }),
  // Subscribers per room under this node's lease: a dead node's rooms stop counting with it.
  occupancy: new RedisRoomOccupancy(redis, { leaseMs: config.ROOM_LEASE_MS, logger }),
  // One stream: with several, the adapter can route a namespace to a stream no node reads.
  adapter: createAdapter(adapterRedis, { streamCount: 1, maxLen: config.ADAPTER_MAX_LEN }),
  // Ready: both Redis connections (state, and the adapter stream) answer; draining is app.ts's.
  isReady: () => redis.isReady && adapterRedis.isReady,
  usage,
  // Connect rate per (app, IP) and the daily quota, shared with every node and REST instance.
  limiters: redisLimiters(redis),
  keys: createRemoteJWKSet(new URL(config.JWKS_URL ?? `${config.TOKEN_ISSUER}/.well-known/jwks.json`)),
  logger,
  metrics: processRegistry(),
  webhooks,
  roomStates: new RedisRoomStates(redis),
});
await observeAdapterLag(node.io, redis, node.metrics.registry, { maxLen: config.ADAPTER_MAX_LEN, logger });
const metricsServer =
  config.METRICS_PORT === undefined
    ? undefined
    : await serveMetrics(node.metrics.registry, config.METRICS_PORT, config.HOST);
const address = await node.listen(config.PORT, config.HOST);
logger.info(
  { port: address.port, metricsPort: metricsServer?.port, adminUi: node.adminServerId },
  "realtime node listening",
);

closeOnSignals(async () => {
  await node.close();
  await debugWatchers.close();
  await keyUse.close();
  await webhooks.close();
  await Promise.allSettled([close(), adapterRedis.quit(), metricsServer?.close()]);
}, logger);
