export { consoleBuildIsStale, ensureConsoleBuilt } from "./console-build.js";
export { type Platform, type PlatformUrls, PortUnavailableError, startPlatform } from "./platform.js";
