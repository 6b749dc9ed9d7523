import type { Logger } from "@relaybase/server-kit";
import { UsageMeter } from "@relaybase/server-kit";
import { createRedisClient, type RedisClient } from "./client.js";
import { RedisTenantDirectory } from "./redis-tenant-directory.js";
import { RedisUsage } from "./redis-usage.js";

export interface ClusterServices {
  /** Fails fast while Redis is away (offline queue off): a publish is refused, not left hanging. */
  redis: RedisClient;
  directory: RedisTenantDirectory;
  /** Usage counts, flushed to Redis; the control plane rolls them into Postgres. */
  usage: UsageMeter;
  close(): Promise<void>;
}

/** What every realtime node and REST instance of a cluster opens first. */
export async function openClusterServices(
  url: string,
  options: { name: string; logger: Logger; usageFlushMs: number },
): Promise<ClusterServices> {
  const { name, logger, usageFlushMs } = options;
  const redis = createRedisClient(url, { logger, name });
  await redis.connect();
  const directory = await RedisTenantDirectory.create(redis, { logger });
  const usage = new UsageMeter({
    sink: new RedisUsage(redis).sink,
    flushMs: usageFlushMs,
    onError: (err) => logger.warn({ err }, "usage flush failed (kept for the next one)"),
  });
  return {
    redis,
    directory,
    usage,
    async close() {
      await usage.close().catch(() => {});
      await directory.close();
      await redis.quit().catch(() => {});
    },
  };
}
