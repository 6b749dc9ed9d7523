export { type Platform, type PlatformUrls, PortUnavailableError, startPlatform } from "./platform.js";
