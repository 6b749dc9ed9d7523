import {
  adapterMaxLenVar,
  boolVar,
  loadConfig,
  logLevelVar,
  metricsAppLabelsVar,
  metricsPortVar,
  optionalUrlVar,
  portVar,
  usageFlushVar,
} from "@relaybase/server-kit";
import { z } from "zod";

export const restPublishApiConfigSchema = z.object({
  PORT: portVar(4002).describe("Port of the REST publish API."),
  HOST: z.string().default("127.0.0.1").describe("Interface to listen on; 0.0.0.0 in containers."),
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1_048_576)
    .describe("Largest request body; bigger bodies get 413 MESSAGE_TOO_LARGE before parsing."),
  REDIS_URL: optionalUrlVar().describe(
    "Redis of the cluster (room history, tenant directory, the adapter stream it writes to). Required when the " +
      "REST API runs alone; unused in the all-in-one process.",
  ),
  ADAPTER_MAX_LEN: adapterMaxLenVar(),
  USAGE_FLUSH_MS: usageFlushVar(),
  METRICS_PORT: metricsPortVar(),
  METRICS_APP_LABELS: metricsAppLabelsVar(),
  LOG_LEVEL: logLevelVar,
  REQUEST_LOG: boolVar(false).describe(
    "Log Fastify's two info lines per request (incoming request, request completed). Off by default: they were " +
      "~16% of the CPU of a publish (docs/benchmarks.md); warnings and errors are logged either way.",
  ),
});

export type RestPublishApiConfig = z.infer<typeof restPublishApiConfigSchema>;

export const loadRestPublishApiConfig = (env: Record<string, string | undefined> = process.env) =>
  loadConfig(restPublishApiConfigSchema, env);
