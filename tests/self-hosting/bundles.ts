import { buildServices } from "../../docker/build.js";

let built: Promise<string[]> | undefined;

/** The images' bundles (docker/build.ts), built once per test process. */
export function buildBundles(): Promise<string[]> {
  built ??= buildServices();
  return built;
}
