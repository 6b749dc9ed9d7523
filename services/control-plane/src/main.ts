import { createLogger, MemoryTenantDirectory } from "@relaybase/server-kit";
import { createControlPlane } from "./app.js";
import { loadControlPlaneConfig } from "./config.js";

// Standalone control plane. The in-memory directory here serves only this process; a
// distributed deployment passes the Redis directory instead.
const config = loadControlPlaneConfig();
const logger = createLogger("control-plane", config.LOG_LEVEL);
const controlPlane = await createControlPlane({ config, directory: new MemoryTenantDirectory(), logger });
await controlPlane.app.listen({ port: config.PORT, host: config.HOST });

let closing = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "shutting down");
    controlPlane.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
