import { createControlPlane, loadControlPlaneConfig } from "@relaybase/control-plane";
import { ConfigError, createLogger, MemoryTenantDirectory } from "@relaybase/server-kit";

// The migrations step of a Kubernetes install (the Helm chart's pre-install/pre-upgrade
// Job): bring the Postgres schema up to date, then exit. The control plane migrates on
// every start as well, under an advisory lock; running it first as a hook makes a failing
// migration fail the `helm upgrade` before any pod of the new version starts, instead of
// leaving new pods crash-looping beside the old ones.
// It goes through the control plane's public API: createControlPlane migrates, close()
// lets go of the database. It never listens.
const config = loadControlPlaneConfig();
if (!config.DATABASE_URL) {
  throw new ConfigError("Migrations run against Postgres: set DATABASE_URL.");
}
const logger = createLogger("migrate", config.LOG_LEVEL);
const controlPlane = await createControlPlane({ config, directory: new MemoryTenantDirectory(), logger });
await controlPlane.close();
logger.info("database schema is up to date");
