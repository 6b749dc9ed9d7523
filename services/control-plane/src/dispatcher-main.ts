import { createRedisClient, RedisWebhookConsumer } from "@relaybase/redis-kit";
import { ConfigError, closeOnSignals, createLogger, guardProcess } from "@relaybase/server-kit";
import { loadControlPlaneConfig } from "./config.js";
import { openDatabase } from "./db/index.js";
import { WebhookDispatcher } from "./webhooks/dispatcher.js";

// The webhook dispatcher on its own (docs/webhooks.md): reads the events nodes wrote to
// Redis into the Postgres outbox and delivers them. Any number may run (each control
// plane with WEBHOOK_DISPATCHER=true runs one too); they share the work through leases.
// Reads the control plane's variables (DATABASE_URL, REDIS_URL, WEBHOOK_*).
const config = loadControlPlaneConfig();
if (!config.DATABASE_URL) {
  throw new ConfigError(
    "The dispatcher runs alone only on Postgres: set DATABASE_URL (embedded, it runs in the control plane).",
  );
}
const logger = createLogger("webhook-dispatcher", config.LOG_LEVEL);
guardProcess(logger);

const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, logger });
const dispatcher = new WebhookDispatcher({ db: database.db, config, logger });
dispatcher.start();
const redis = config.REDIS_URL
  ? createRedisClient(config.REDIS_URL, { logger, name: "webhook-dispatcher" })
  : undefined;
await redis?.connect();
const consumer = redis ? new RedisWebhookConsumer(redis, { logger }) : undefined;
consumer?.start((events) => dispatcher.ingest(events));
logger.info({ redis: !!redis }, "webhook dispatcher running");

closeOnSignals(async () => {
  await consumer?.close();
  await dispatcher.close();
  await redis?.quit();
  await database.close();
}, logger);
