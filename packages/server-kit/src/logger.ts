import { type Logger, pino } from "pino";

export type { Logger };

/** JSON logs (pino), one child per service so every line names its source. */
export function createLogger(service: string, level = "info"): Logger {
  return pino({ level, base: { service } });
}
