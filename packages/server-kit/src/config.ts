import { z } from "zod";

/**
 * Parses a service's environment once, against its zod schema. A bad value stops the
 * process with a message naming each variable, instead of failing later and far away.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Common pieces of the config schemas. */
export const portVar = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
export const logLevelVar = z
  .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  .default("info")
  .describe("pino log level.");
export const boolVar = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"])
    .default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1");

/** An optional URL; an empty variable (common in Helm values and .env files) counts as unset. */
export const optionalUrlVar = () => z.preprocess((v) => (v === "" ? undefined : v), z.url().optional());

/** How often a process flushes its usage counts (realtime node and REST API alike). */
export const usageFlushVar = () =>
  z.coerce
    .number()
    .int()
    .min(50)
    .default(5_000)
    .describe(
      "How often usage counts (messages published and delivered, per app and hour) are flushed: to Redis in a " +
        "cluster, to the control plane in the all-in-one process. Also flushed on shutdown.",
    );

/**
 * The adapter stream's length, which realtime nodes (reading and trimming it) and REST
 * instances (writing to it) must agree on.
 */
export const adapterMaxLenVar = () =>
  z.coerce
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe(
      "Entries kept in the adapter's shared stream (all tenants), the same on every realtime node and REST " +
        "instance; a node without Redis (the all-in-one process) keeps at most this many broadcasts in memory " +
        "instead. Socket.IO's own recovery reaches back at most this many messages; room history covers the " +
        "rest (docs/scaling.md).",
    );

/** The Prometheus port of a service (every service and the all-in-one read the same variable). */
export const metricsPortVar = () =>
  z
    .preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(0).max(65535).optional())
    .describe(
      "Port of `GET /metrics` (Prometheus), on its own listener beside the service's port, so the public " +
        "port and the ingress never carry it. Unset: no metrics listener. 0: any free port. In the all-in-one " +
        "process one listener serves the series of every service.",
    );

/** The bound on distinct `app` label values in a process's metrics. */
export const metricsAppLabelsVar = () =>
  z.coerce
    .number()
    .int()
    .min(1)
    .default(1_000)
    .describe(
      "Most distinct app ids a process uses as the `app` label of its metrics; apps seen after that are " +
        'counted under `app="_other"`. Bounds the series a scrape holds (docs/self-hosting.md#metrics-and-alerts).',
    );
