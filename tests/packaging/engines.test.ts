import { readFile } from "node:fs/promises";
import semver from "semver";
import { describe, expect, it } from "vitest";

/**
 * `npm ci` warns EBADENGINE for every locked package whose `engines.node` the oldest Node
 * we claim to support does not satisfy. The lockfile records each package's `engines`, so
 * reading it tells the same thing without installing anything.
 */
const root = new URL("../../", import.meta.url);
const readJson = async (path: string) => JSON.parse(await readFile(new URL(path, root), "utf8"));

describe("Node version", () => {
  it("every locked package runs on the oldest Node that package.json's engines allow", async () => {
    const pkg = (await readJson("package.json")) as { engines: { node: string } };
    const lock = (await readJson("package-lock.json")) as {
      packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
    };
    const oldest = semver.minVersion(pkg.engines.node);
    expect(oldest?.version).toBeDefined();

    const tooNew = Object.entries(lock.packages)
      .filter(([path]) => path.includes("node_modules/"))
      .flatMap(([path, entry]) => {
        const wanted = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return wanted && !semver.satisfies(oldest!, wanted)
          ? [`${path}@${entry.version}: node ${wanted}`]
          : [];
      });
    expect(tooNew).toEqual([]);
  });
});
