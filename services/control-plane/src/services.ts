import {
  type KeyUseStore,
  type Logger,
  MemoryRateLimiter,
  type RateLimiter,
  type Registry,
  type RoomHistory,
  type RoomOccupancyReader,
  type TenantDirectoryWriter,
  webhookEvent,
} from "@relaybase/server-kit";
import { AuthLimits } from "./auth/rate-limit.js";
import { Sessions } from "./auth/session.js";
import { createBilling } from "./billing/index.js";
import type { ControlPlaneConfig } from "./config.js";
import { type OpenedDatabase, openDatabase } from "./db/index.js";
import { createMailer } from "./mail/mailer.js";
import { SigningKeys } from "./signing-keys.js";
import { TenantSync } from "./tenants.js";
import type { Services } from "./trpc/context.js";
import { ControlPlaneMetrics } from "./usage/metrics.js";
import { UsageService, type UsageSources } from "./usage/service.js";
import { Webhooks } from "./webhooks/service.js";
import type { HostLookup } from "./webhooks/url-safety.js";

/** What the console's room inspector reads: the realtime side's counts and histories. */
export interface RoomSources {
  occupancy: RoomOccupancyReader;
  history: RoomHistory;
}

export interface ControlPlaneDeps {
  config: ControlPlaneConfig;
  /** The control plane is the directory's only writer; nodes and the REST API read it. */
  directory: TenantDirectoryWriter;
  logger: Logger;
  /** Where usage comes from: Redis in distributed mode; embedded, the node's meter calls `usage.record`. */
  usage?: UsageSources;
  /**
   * Budgets for the login and signup limits: `RedisRateLimiter` on the cluster's Redis, so
   * every replica shares them. Default: in this process (embedded, one replica).
   */
  rateLimiter?: RateLimiter;
  /**
   * Where the other services listen, for the console's snippets when REALTIME_PUBLIC_URL /
   * REST_PUBLIC_URL are unset (the all-in-one knows them only once it listens).
   */
  consoleUrls?: () => { controlPlane?: string; realtime?: string; rest?: string };
  /** Prometheus registry for the control plane's series; a new one by default. Process metrics are its owner's. */
  metrics?: Registry;
  /**
   * The room inspector's sources: Redis in a cluster, the node's when embedded (asked per
   * request, as the all-in-one makes the node after the control plane). Without them the
   * inspector answers UNAVAILABLE.
   */
  rooms?: () => RoomSources | undefined;
  /** When keys were last used, as the nodes and REST API record it; without it, unknown (null). */
  keyUse?: Pick<KeyUseStore, "lastUsed">;
  /** Whether the other dependencies answer (Redis with REDIS_URL, where the directory lives); /readyz reports it. */
  isReady?: () => boolean;
  /** How webhook hosts are resolved (checks at save and delivery time); tests give a fixed table. */
  webhookLookup?: HostLookup;
}

export interface OpenedServices {
  services: Services;
  signing: SigningKeys;
  database: OpenedDatabase;
}

/**
 * Everything but HTTP: the database (migrated), the signing key (made on first start),
 * the session secret, and the tenant directory loaded from Postgres.
 */
export async function openServices({
  config,
  directory,
  logger,
  usage: usageSources,
  rateLimiter,
  metrics: registry,
  rooms,
  keyUse,
  webhookLookup,
}: ControlPlaneDeps): Promise<OpenedServices> {
  const issuer = config.PUBLIC_URL;
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, logger });
  const { db } = database;
  try {
    const signing = new SigningKeys(db, issuer);
    await signing.ensure();
    const sessions = await Sessions.open(db, issuer, config.SESSION_TTL_SECONDS);
    const tenants = new TenantSync(db, directory, logger);
    await tenants.loadAll();
    const authLimits = new AuthLimits(rateLimiter ?? new MemoryRateLimiter(), config, logger);
    const billing = createBilling(config, { db, tenants, logger });
    const metrics = new ControlPlaneMetrics(registry, config.METRICS_APP_LABELS);
    const mailer = createMailer(config, logger);
    const webhooks = new Webhooks({
      db,
      config,
      logger,
      lookup: webhookLookup,
      // Nodes stop sending events only a disabled endpoint wanted.
      onEndpointDisabled: (appId) => void tenants.sync(appId).catch(() => {}),
    });
    const usage = new UsageService({
      ...usageSources,
      db,
      logger,
      metrics,
      rollupMs: config.USAGE_ROLLUP_MS,
      // The 80% notice is also a webhook event; written with the notice's day so a re-run finds it.
      onQuotaWarning: (w) =>
        webhooks.ingest([
          webhookEvent("connection.quota_warning", w.appId, {
            quota: "messagesPerDay",
            day: w.day,
            used: w.used,
            limit: w.limit,
          }),
        ]),
    });
    return {
      services: {
        config,
        db,
        logger,
        sessions,
        tenants,
        authLimits,
        mailer,
        metrics,
        usage,
        billing,
        signing,
        rooms: rooms ?? (() => undefined),
        ...(keyUse ? { keyUse } : {}),
        webhooks,
      },
      signing,
      database,
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
