export { createRestPublishApi, type RestPublishApiDeps } from "./app.js";
export { loadRestPublishApiConfig, type RestPublishApiConfig, restPublishApiConfigSchema } from "./config.js";
