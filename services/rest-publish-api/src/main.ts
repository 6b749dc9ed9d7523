import {
  ConnectionLeases,
  createRedisClient,
  RedisRoomHistory,
  RedisTenantDirectory,
  StreamEmitterFanout,
} from "@relaybase/redis-kit";

import { ConfigError, closeOnSignals, createLogger, Publisher } from "@relaybase/server-kit";
import { createRestPublishApi } from "./app.js";
import { loadRestPublishApiConfig } from "./config.js";

// A REST instance of a cluster: it stores each message in its room's history and writes
// it to the adapter stream every realtime node reads; it holds no sockets.
const config = loadRestPublishApiConfig();
if (!config.REDIS_URL) {
  throw new ConfigError("The REST API runs alone only in a cluster: set REDIS_URL (or run `npm start`).");
}
const logger = createLogger("rest-publish-api", config.LOG_LEVEL);
const redis = createRedisClient(config.REDIS_URL, { logger, name: "rest-publish-api" });
await redis.connect();
const directory = await RedisTenantDirectory.create(redis, { logger });
const publisher = new Publisher(
  new RedisRoomHistory(redis),
  new StreamEmitterFanout(redis, { maxLen: config.ADAPTER_MAX_LEN }),
);
const connections = new ConnectionLeases(redis, { readOnly: true });
const app = createRestPublishApi({
  config,
  directory,
  publisher,
  connections,
  logger,
  isReady: () => redis.isReady,
});
await app.listen({ port: config.PORT, host: config.HOST });

closeOnSignals(async () => {
  await app.close();
  await directory.close();
  await redis.quit();
}, logger);
