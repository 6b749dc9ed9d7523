import { type AppLabels, appLabels, DEFAULT_APP_LABELS, Registry } from "@relaybase/server-kit";
import { Counter } from "prom-client";

/**
 * The control plane's Prometheus metrics, served on METRICS_PORT (`serveMetrics`), never
 * on the public port: app ids appear in labels. The registry is the one given (the
 * all-in-one's, shared with the other services) or a new one per control plane (not
 * prom-client's global one), so several in one process (tests) stay apart.
 */
export class ControlPlaneMetrics {
  readonly apps: AppLabels;
  /** Apps that reached 80% of their daily message quota: one per app per UTC day, cluster-wide. */
  readonly quotaWarnings: Counter<"app">;
  /** Usage rollups by result: `ok`, or `error` (the usage is kept and retried). */
  readonly usageRollups: Counter<"result">;
  /** App-hours of usage written to Postgres. */
  readonly usageRowsWritten: Counter;

  constructor(
    readonly registry: Registry = new Registry(),
    maxApps = DEFAULT_APP_LABELS,
  ) {
    const registers = [registry];
    this.apps = appLabels(registry, maxApps);
    this.quotaWarnings = new Counter({
      name: "relaybase_quota_warnings_total",
      help: "Daily quota warnings (80% of messagesPerDay published), per app.",
      labelNames: ["app"] as const,
      registers,
    });
    this.usageRollups = new Counter({
      name: "relaybase_usage_rollups_total",
      help: "Usage rollups into Postgres by result (ok, error).",
      labelNames: ["result"] as const,
      registers,
    });
    this.usageRowsWritten = new Counter({
      name: "relaybase_usage_rows_written_total",
      help: "Rows of usage_hourly inserted or updated by rollups.",
      registers,
    });
  }

  /** One quota warning, its app label bounded like every other series'. */
  quotaWarned(appId: string): void {
    this.quotaWarnings.inc({ app: this.apps.of(appId) });
  }
}
