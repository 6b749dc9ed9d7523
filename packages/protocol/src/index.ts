export * from "./capabilities.js";
export * from "./debug.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./history.js";
export * from "./names.js";
export * from "./presence.js";
// The zod schemas live at "@relaybase/protocol/schemas", so that importing this entry
// (as the SDK does, in browsers) never loads zod. Their types are free to re-export.
export type { HistoryPayload, Position, PublishPayload, SubscribePayload } from "./schemas.js";
export * from "./webhooks.js";
