/**
 * The protocol without its zod schemas: what the SDK imports, so that neither a browser
 * bundle nor a Node process running the SDK loads zod. Everything here is plain
 * TypeScript; the schemas (`@relaybase/protocol`) are for the services that validate.
 */
export * from "./capabilities.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./names.js";
export * from "./presence.js";
export type { Position } from "./schemas.js";
