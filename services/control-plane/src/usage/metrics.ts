import type { FastifyInstance } from "fastify";
import { Counter, Registry } from "prom-client";

/**
 * The control plane's Prometheus metrics, on `GET /metrics`. One registry per control
 * plane (not prom-client's global one), so several in one process (tests) stay apart.
 */
export class ControlPlaneMetrics {
  readonly registry = new Registry();

  /** Apps that reached 80% of their daily message quota: one per app per UTC day, cluster-wide. */
  readonly quotaWarnings = new Counter({
    name: "relaybase_quota_warnings_total",
    help: "Daily quota warnings (80% of messagesPerDay published), per app.",
    labelNames: ["app"] as const,
    registers: [this.registry],
  });

  /** Usage rollups by result: `ok`, or `error` (the usage is kept and retried). */
  readonly usageRollups = new Counter({
    name: "relaybase_usage_rollups_total",
    help: "Usage rollups into Postgres by result (ok, error).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  /** App-hours of usage written to Postgres. */
  readonly usageRowsWritten = new Counter({
    name: "relaybase_usage_rows_written_total",
    help: "Rows of usage_hourly inserted or updated by rollups.",
    registers: [this.registry],
  });
}

/**
 * `GET /metrics` in the Prometheus text format. Meant for the operator's scraper: app ids
 * appear in labels, so keep the path off the public ingress (docs/usage.md).
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: ControlPlaneMetrics): void {
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
