export { createRealtimeNode, type RealtimeNode, type RealtimeNodeDeps, SocketIoFanout } from "./app.js";
export { loadRealtimeNodeConfig, type RealtimeNodeConfig, realtimeNodeConfigSchema } from "./config.js";
export { createNodePresence } from "./presence-handlers.js";
