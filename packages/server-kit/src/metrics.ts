import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ErrorCode } from "@relaybase/protocol";
import { Counter, collectDefaultMetrics, Histogram, type Metric, Registry } from "prom-client";
import type { AppendResult, RoomHistory } from "./history.js";
import { unhandledRejectionCount } from "./process-guards.js";
import type { PublishObserver } from "./usage-meter.js";

export { Registry };

/**
 * Prometheus metrics shared by the services (docs/self-hosting.md#metrics-and-alerts).
 *
 * One registry per process is scraped. Each service registers its series into the
 * registry it is given (`metrics` in its deps) or a fresh one; the process's own series
 * (prom-client's defaults: CPU, memory, GC, event-loop lag; unhandled rejections) are
 * added once, by whoever owns the process (`processRegistry()` in each `main.ts` and in
 * the all-in-one), so composing three services in one process registers them once.
 * Series two services both write (limit refusals, published messages, history writes)
 * are fetched from the registry if already there, so the all-in-one exposes one of each.
 */

/** The label value that stands for every app past the cardinality bound. */
export const OTHER_APPS = "_other";

/** Default bound on distinct `app` label values per process (METRICS_APP_LABELS). */
export const DEFAULT_APP_LABELS = 1_000;

/** Error codes that mean "a plan limit said no" (relaybase_limit_refusals_total). */
export const LIMIT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "RATE_LIMITED",
  "CONNECT_RATE_LIMITED",
  "OVER_CONNECTION_QUOTA",
  "TOO_MANY_SUBSCRIPTIONS",
  "DAILY_QUOTA_EXCEEDED",
  "MESSAGE_TOO_LARGE",
]);

/** A registry with the process's own series. Call once per process. */
export function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let counted = 0;
  new Counter({
    name: "relaybase_unhandled_rejections_total",
    help: "Unhandled promise rejections the process survived (each is logged; any is a bug).",
    registers: [registry],
    collect() {
      const now = unhandledRejectionCount();
      if (now > counted) this.inc(now - counted);
      counted = now;
    },
  });
  return registry;
}

/** The metric of that name in the registry, or a new one made by `make`. */
export function sharedMetric<M extends Metric>(registry: Registry, name: string, make: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? make();
}

/**
 * Bounds the `app` label: the first `max` app ids a process sees keep their own series,
 * later ones are counted under `_other`. Prometheus keeps a series per label value, so an
 * unbounded label lets a signup storm (or a bug) grow every scrape without end. One bound
 * per registry, shared by the services composed in one process.
 */
export class AppLabels {
  readonly #seen = new Set<string>();
  constructor(readonly max: number) {}

  of(appId: string): string {
    if (this.#seen.has(appId)) return appId;
    if (this.#seen.size >= this.max) return OTHER_APPS;
    this.#seen.add(appId);
    return appId;
  }
}

const appLabelsByRegistry = new WeakMap<Registry, AppLabels>();

export function appLabels(registry: Registry, max = DEFAULT_APP_LABELS): AppLabels {
  let labels = appLabelsByRegistry.get(registry);
  if (!labels) {
    labels = new AppLabels(max);
    appLabelsByRegistry.set(registry, labels);
  }
  return labels;
}

/** Buckets for Redis-bound steps: 0.5 ms to 2.5 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The series the realtime node and the REST API both write (the publish path). */
export class PublishMetrics {
  readonly apps: AppLabels;
  readonly limitRefusals: Counter<"app" | "code">;
  readonly published: Counter<"app">;
  readonly historyWrite: Histogram;

  constructor(
    readonly registry: Registry,
    maxApps = DEFAULT_APP_LABELS,
  ) {
    this.apps = appLabels(registry, maxApps);
    const registers = [registry];
    this.limitRefusals = sharedMetric(
      registry,
      "relaybase_limit_refusals_total",
      () =>
        new Counter({
          name: "relaybase_limit_refusals_total",
          help: "Requests refused by a plan limit (rates, quotas, connections, message size), by app and code.",
          labelNames: ["app", "code"] as const,
          registers,
        }),
    );
    this.published = sharedMetric(
      registry,
      "relaybase_messages_published_total",
      () =>
        new Counter({
          name: "relaybase_messages_published_total",
          help: "Messages stored and fanned out (client and REST publishes; one per room), by app.",
          labelNames: ["app"] as const,
          registers,
        }),
    );
    this.historyWrite = sharedMetric(
      registry,
      "relaybase_history_write_seconds",
      () =>
        new Histogram({
          name: "relaybase_history_write_seconds",
          help: "Time to take a room's next offset and store the message in its history.",
          buckets: LATENCY_BUCKETS,
          registers,
        }),
    );
  }

  /** Counts a refusal if its code is a plan limit's. */
  refused(appId: string | undefined, code: ErrorCode): void {
    if (!LIMIT_CODES.has(code)) return;
    this.limitRefusals.inc({ app: appId === undefined ? OTHER_APPS : this.apps.of(appId), code });
  }

  /** A `Publisher` observer that counts each stored message and tells `next` (usage) too. */
  observer(next?: PublishObserver): PublishObserver {
    // Each app's child counter, found once: a labelled `inc` hashes its labels every time.
    // Bounded by `apps` (the label bound); nothing resets the registry's metrics.
    const byApp = new Map<string, { inc(): void }>();
    return {
      published: (appId, bytes) => {
        const app = this.apps.of(appId);
        let counter = byApp.get(app);
        if (!counter) {
          counter = this.published.labels(app);
          byApp.set(app, counter);
        }
        counter.inc();
        next?.published(appId, bytes);
      },
    };
  }

  /** The same history, with each append timed. */
  timed(history: RoomHistory): RoomHistory {
    const histogram = this.historyWrite;
    return {
      async append(roomKey, message, limits): Promise<AppendResult> {
        const start = performance.now();
        try {
          return await history.append(roomKey, message, limits);
        } finally {
          histogram.observe((performance.now() - start) / 1000);
        }
      },
      position: (roomKey) => history.position(roomKey),
      since: (roomKey, since, limits) => history.since(roomKey, since, limits),
      read: (roomKey, query, limits) => history.read(roomKey, query, limits),
    };
  }
}

export interface MetricsServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * `GET /metrics` on its own port (METRICS_PORT): the operator's scraper reaches it inside
 * the cluster; the public ingress and the service ports never carry it. Nothing else is
 * served there.
 */
export async function serveMetrics(registry: Registry, port: number, host: string): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    port: bound,
    url: `http://${shown}:${bound}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
