import type { Logger } from "./logger.js";

let unhandledRejections = 0;
let installed = false;

/**
 * Makes an unhandled promise rejection a logged, counted event instead of the end of the
 * process (Node's default since v15). Every known path handles its own errors; this is
 * the net under the ones we do not know of yet, so one bad input can never take a node
 * and all its clients down. Uncaught exceptions stay fatal: after one, state may be torn.
 * Installs once per process (the all-in-one composes several services).
 */
export function guardProcess(logger: Pick<Logger, "error">): void {
  if (installed) return;
  installed = true;
  process.on("unhandledRejection", (reason) => {
    unhandledRejections += 1;
    logger.error({ err: reason, unhandledRejections }, "unhandled promise rejection (process kept running)");
  });
}

/** Unhandled rejections since the process started (for /metrics and tests). */
export function unhandledRejectionCount(): number {
  return unhandledRejections;
}
