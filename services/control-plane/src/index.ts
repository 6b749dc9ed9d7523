export { type ControlPlane, type ControlPlaneDeps, createControlPlane } from "./app.js";
export { type ControlPlaneConfig, controlPlaneConfigSchema, loadControlPlaneConfig } from "./config.js";
export type { AppRouter } from "./trpc/router.js";
