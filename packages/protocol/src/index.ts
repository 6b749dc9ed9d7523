export * from "./capabilities.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./names.js";
export * from "./presence.js";
export * from "./schemas.js";
