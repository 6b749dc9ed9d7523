import type { Logger } from "./logger.js";

/**
 * Runs `close` once on SIGTERM or SIGINT, then exits (0 when it finished, 1 when it
 * failed). A second signal exits at once.
 */
export function closeOnSignals(close: () => Promise<void>, logger: Logger): void {
  let closing = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (closing) process.exit(1);
      closing = true;
      logger.info({ signal }, "shutting down");
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
}
