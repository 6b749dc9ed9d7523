// @ts-check
// `npm start`: the all-in-one platform (src/main.ts) as the esbuild bundle the all-in-one
// image runs (docker/build.ts), rebuilt first when any of its sources changed. Plain
// JavaScript, so this process needs no TypeScript loader: tsx compiling the sources at run
// time cost ~60 MiB of resident memory (docs/benchmarks.md, "Embedded process memory").
// The bundle runs in this same process, so signals, exit codes and the banner are main.ts'.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = fileURLToPath(new URL("dist/bin/main.js", import.meta.url));

/**
 * True when the bundle is missing or older than any file that went into it, as the build
 * listed them in `<bundle>.inputs.json` (paths relative to `repoRoot`).
 * @param {string} bundlePath
 * @param {string} repoRoot
 * @returns {boolean}
 */
export function bundleIsStale(bundlePath, repoRoot) {
  const built = statSync(bundlePath, { throwIfNoEntry: false });
  if (!built) return true;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(`${bundlePath}.inputs.json`, "utf8"));
  } catch {
    return true;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return true;
  return inputs.some((input) => {
    const source = statSync(`${repoRoot}/${input}`, { throwIfNoEntry: false });
    return !source || source.mtimeMs > built.mtimeMs;
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (bundleIsStale(bundle, root)) {
    // esbuild takes about a second; its output is only the bundles' names, not shown.
    const build = spawnSync(process.execPath, ["--import", "tsx", "docker/build.ts", "all-in-one"], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    });
    if (build.status !== 0) {
      console.error(
        "Could not build all-in-one/dist/bin/main.js (node --import tsx docker/build.ts all-in-one).",
      );
      process.exit(build.status ?? 1);
    }
  }
  // Stacks name the TypeScript sources, as under tsx (the bundle has a source map beside it).
  process.setSourceMapsEnabled(true);
  await import(bundle);
}
