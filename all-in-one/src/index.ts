export { consoleBuildIsStale, ensureConsoleBuilt } from "./console-build.js";
export { type Platform, type PlatformUrls, startPlatform } from "./platform.js";
