import { type Logger, pino } from "pino";
import pinoPretty from "pino-pretty";

export type { Logger };

export interface CreateLoggerOptions {
  /**
   * Human-readable lines (pino-pretty) instead of JSON.
   * @default true when stdout is a terminal (`npm start` in a shell), false otherwise (CI, containers, pipes)
   */
  pretty?: boolean;
}

/**
 * pino logs, one child per service so every line names its source: JSON lines for log
 * collectors, or, in a terminal, one readable line per entry (written synchronously, so
 * the last lines before an exit are not lost).
 */
export function createLogger(service: string, level = "info", options: CreateLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  const settings = { level, base: { service } };
  if (!pretty) return pino(settings);
  return pino(
    settings,
    pinoPretty({
      sync: true,
      singleLine: true,
      translateTime: "SYS:HH:MM:ss.l",
      // "[12:00:00.000] INFO: realtime-node: message {fields}"; `part` names a service inside `npm start`.
      messageFormat: (log, messageKey) =>
        `${String(log.part ?? log.service)}: ${String(log[messageKey] ?? "")}`,
      ignore: "pid,hostname,service,part",
    }),
  );
}
