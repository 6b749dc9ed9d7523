import { createRedisClient, RedisTenantDirectory } from "@relaybase/redis-kit";
import { closeOnSignals, createLogger, MemoryTenantDirectory } from "@relaybase/server-kit";
import { createControlPlane } from "./app.js";
import { loadControlPlaneConfig } from "./config.js";

// Standalone control plane. With REDIS_URL it publishes every app's runtime config to the
// Redis tenant directory that realtime nodes and REST instances read; without it the
// directory lives only in this process.
const config = loadControlPlaneConfig();
const logger = createLogger("control-plane", config.LOG_LEVEL);
const redis = config.REDIS_URL
  ? createRedisClient(config.REDIS_URL, { logger, name: "control-plane" })
  : undefined;
await redis?.connect();
const directory = redis ? await RedisTenantDirectory.create(redis, { logger }) : new MemoryTenantDirectory();
const controlPlane = await createControlPlane({ config, directory, logger });
await controlPlane.app.listen({ port: config.PORT, host: config.HOST });

closeOnSignals(async () => {
  await controlPlane.close();
  if (directory instanceof RedisTenantDirectory) await directory.close();
  await redis?.quit();
}, logger);
