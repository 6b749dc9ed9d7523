import { loadConfig, logLevelVar, portVar } from "@relaybase/server-kit";
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
  LOG_LEVEL: logLevelVar,
});

export type RestPublishApiConfig = z.infer<typeof restPublishApiConfigSchema>;

export const loadRestPublishApiConfig = (env: Record<string, string | undefined> = process.env) =>
  loadConfig(restPublishApiConfigSchema, env);
