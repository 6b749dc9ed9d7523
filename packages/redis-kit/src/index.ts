export {
  type CreateRedisClientOptions,
  createRedisClient,
  type RedisClient,
  toRelaybaseError,
  type WarnLogger,
} from "./client.js";
export { type ClusterServices, openClusterServices } from "./cluster-services.js";
export {
  ConnectionLeases,
  type ConnectionLeasesOptions,
  readConnectionCounts,
} from "./connection-leases.js";
export { RedisDebugWatchers, type RedisDebugWatchersOptions } from "./redis-debug-watchers.js";
export { RedisKeyUseStore } from "./redis-key-use.js";
export {
  RedisDailyQuota,
  type RedisLimitersOptions,
  RedisRateLimiter,
  redisLimiters,
} from "./redis-limits.js";
export { RedisPresence, type RedisPresenceOptions } from "./redis-presence.js";
export { RedisRoomHistory, type RedisRoomHistoryOptions } from "./redis-room-history.js";
export { RedisTenantDirectory, type RedisTenantDirectoryOptions } from "./redis-tenant-directory.js";
export { RedisUsage, type RedisUsageOptions, type UsageClaim } from "./redis-usage.js";
export { RedisRoomOccupancy, type RedisRoomOccupancyOptions } from "./room-occupancy.js";
export { RedisRoomStates } from "./room-states.js";
export { StreamEmitterFanout, type StreamEmitterOptions } from "./stream-emitter.js";
export {
  RedisWebhookConsumer,
  type RedisWebhookConsumerOptions,
  RedisWebhookStream,
  type RedisWebhookStreamOptions,
} from "./webhook-stream.js";
