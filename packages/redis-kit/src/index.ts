export {
  type CreateRedisClientOptions,
  createRedisClient,
  type RedisClient,
  toRelaybaseError,
  type WarnLogger,
} from "./client.js";
export { ConnectionLeases, type ConnectionLeasesOptions } from "./connection-leases.js";
export { RedisRoomHistory, type RedisRoomHistoryOptions } from "./redis-room-history.js";
export { RedisTenantDirectory, type RedisTenantDirectoryOptions } from "./redis-tenant-directory.js";
export { StreamEmitterFanout, type StreamEmitterOptions } from "./stream-emitter.js";
