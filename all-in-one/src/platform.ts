import {
  type ControlPlaneConfig,
  createControlPlane,
  loadControlPlaneConfig,
} from "@relaybase/control-plane";
import { createRealtimeNode, loadRealtimeNodeConfig, type RealtimeNode } from "@relaybase/realtime-node";
import { createRestPublishApi, loadRestPublishApiConfig } from "@relaybase/rest-publish-api";
import {
  BufferedWebhookEmitter,
  createLogger,
  KeyUse,
  MemoryConnectionCounter,
  MemoryKeyUseStore,
  MemoryTenantDirectory,
  type MetricsServer,
  memoryLimiters,
  processRegistry,
  refreshingLocalJwks,
  serveMetrics,
  UsageMeter,
} from "@relaybase/server-kit";

type Env = Record<string, string | undefined>;

export interface PlatformUrls {
  controlPlane: string;
  realtime: string;
  rest: string;
  /** `GET /metrics` of every service, when METRICS_PORT is set. */
  metrics?: string;
}

export interface Platform {
  urls: PlatformUrls;
  close(): Promise<void>;
}

/**
 * Every service in one process on embedded defaults: PGlite, the in-memory adapter,
 * an in-process tenant directory and JWKS. Only wiring lives here; each service's
 * behaviour is its own `create…` function, the same one its standalone `main.ts` uses.
 *
 * Ports: CONTROL_PLANE_PORT (4000), REALTIME_PORT (4001), REST_PORT (4002); a port that is
 * taken fails with a `PortUnavailableError` naming its variable. Every other variable is
 * read by the service that owns it (docs/configuration.md); the control plane's PUBLIC_URL,
 * the tokens' issuer, follows CONTROL_PLANE_PORT unless it is set. METRICS_PORT (unset: off)
 * serves one registry holding every service's series and the process's once.
 */
export async function startPlatform(env: Env = process.env): Promise<Platform> {
  const cpConfig: ControlPlaneConfig = loadControlPlaneConfig({ ...env, PORT: env.CONTROL_PLANE_PORT });
  const nodeConfig = loadRealtimeNodeConfig({
    ...env,
    PORT: env.REALTIME_PORT,
    TOKEN_ISSUER: cpConfig.PUBLIC_URL,
  });
  const restConfig = loadRestPublishApiConfig({ ...env, PORT: env.REST_PORT });
  const logger = createLogger("relaybase", cpConfig.LOG_LEVEL);
  const directory = new MemoryTenantDirectory();
  // One process: the node's connection counts are the platform's (usage peaks).
  const connections = new MemoryConnectionCounter();
  // One set of limiters for the node and the REST API: the daily quota counts both.
  const limiters = memoryLimiters();
  // One registry, one scrape: each service adds its series, the process metrics once.
  const metrics = processRegistry();
  // When each key was last used: the node and the REST API record, the control plane reads.
  const keyUseStore = new MemoryKeyUseStore();
  const keyUse = new KeyUse(keyUseStore, { logger });

  let urls: PlatformUrls | undefined;
  // The console's room inspector reads the node's counts and histories (made below).
  let rooms: { occupancy: RealtimeNode["occupancy"]; history: RealtimeNode["history"] } | undefined;
  const controlPlane = await createControlPlane({
    config: cpConfig,
    // The console's snippets name the addresses this process listens on (known after listen).
    consoleUrls: () => ({
      ...(env.PUBLIC_URL ? {} : { controlPlane: urls?.controlPlane }),
      realtime: urls?.realtime,
      rest: urls?.rest,
    }),
    directory,
    logger: logger.child({ part: "control-plane" }),
    usage: { connectionCounts: async () => connections.localCounts() },
    rooms: () => rooms,
    keyUse: keyUseStore,
    metrics,
  });
  // Usage goes straight into the control plane's rollup (Postgres), every USAGE_FLUSH_MS.
  const usage = new UsageMeter({
    sink: (batch) => controlPlane.usage.record(batch),
    flushMs: nodeConfig.USAGE_FLUSH_MS,
    onError: (err) => logger.warn({ err }, "usage flush failed (kept for the next one)"),
  });
  // Webhook events go straight into the control plane's outbox (PGlite), kept until committed.
  const webhooks = new BufferedWebhookEmitter({
    sink: (events) => controlPlane.webhooks.ingest(events),
    logger,
  });
  const node = createRealtimeNode({
    config: nodeConfig,
    directory,
    keys: refreshingLocalJwks(() => controlPlane.jwks()),
    logger: logger.child({ part: "realtime-node" }),
    connections,
    usage,
    limiters,
    metrics,
    keyUse,
    webhooks,
  });
  rooms = { occupancy: node.occupancy, history: node.history };
  const rest = createRestPublishApi({
    config: restConfig,
    directory,
    publisher: node.publisher,
    connections: node.connections,
    presence: node.presence,
    history: node.history,
    debug: node.debug,
    keyUse,
    occupancy: node.occupancy,
    limiters,
    logger: logger.child({ part: "rest-publish-api" }),
    metrics,
  });
  let metricsServer: MetricsServer | undefined;

  const close = async () => {
    await node.close();
    await rest.close();
    await metricsServer?.close();
    await usage.close().catch(() => {});
    await keyUse.close();
    await webhooks.close().catch(() => {});
    await controlPlane.close();
  };
  // After a failed start: each part on its own, so one that never listened cannot keep the rest open.
  const closeAfterFailure = async () => {
    for (const part of [
      () => node.close(),
      () => rest.close(),
      async () => metricsServer?.close(),
      () => usage.close(),
      () => webhooks.close(),
      () => controlPlane.close(),
    ]) {
      await part().catch(() => {});
    }
  };
  try {
    const cpAddress = await listening("CONTROL_PLANE_PORT", cpConfig, () =>
      controlPlane.app.listen({ port: cpConfig.PORT, host: cpConfig.HOST }),
    );
    const nodeAddress = await listening("REALTIME_PORT", nodeConfig, () =>
      node.listen(nodeConfig.PORT, nodeConfig.HOST),
    );
    const restAddress = await listening("REST_PORT", restConfig, () =>
      rest.listen({ port: restConfig.PORT, host: restConfig.HOST }),
    );
    const metricsPort = cpConfig.METRICS_PORT;
    if (metricsPort !== undefined) {
      metricsServer = await listening("METRICS_PORT", { PORT: metricsPort, HOST: cpConfig.HOST }, () =>
        serveMetrics(metrics, metricsPort, cpConfig.HOST),
      );
    }
    urls = {
      controlPlane: cpAddress,
      realtime: `http://${hostOf(nodeConfig.HOST)}:${nodeAddress.port}`,
      rest: restAddress,
      ...(metricsServer ? { metrics: metricsServer.url } : {}),
    };
    return { urls, close };
  } catch (err) {
    // Leave nothing half-open (PGlite's folder, timers) when a port cannot be had.
    await closeAfterFailure();
    throw err;
  }
}

/** The platform cannot listen where it was told to; the message names the variable to change. */
export class PortUnavailableError extends Error {
  constructor(
    readonly variable: string,
    readonly port: number,
    host: string,
    code: string,
  ) {
    const why =
      code === "EADDRINUSE"
        ? `is already in use on ${host} (another \`npm start\`, or another program)`
        : `may not be opened by this user on ${host}`;
    super(
      `Port ${port} (${variable}) ${why}. Stop what holds it, or choose free ports, e.g.\n` +
        "  CONTROL_PLANE_PORT=5000 REALTIME_PORT=5001 REST_PORT=5002 npm start",
    );
    this.name = "PortUnavailableError";
  }
}

async function listening<T>(
  variable: string,
  config: { PORT: number; HOST: string },
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES") {
      throw new PortUnavailableError(variable, config.PORT, config.HOST, code);
    }
    throw err;
  }
}

function hostOf(host: string): string {
  return host === "0.0.0.0" || host === "::" ? "localhost" : host;
}
