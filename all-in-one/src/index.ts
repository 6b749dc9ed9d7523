export { type Platform, type PlatformUrls, startPlatform } from "./platform.js";
