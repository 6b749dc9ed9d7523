import { spawn } from "node:child_process";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CONSOLE = join(REPO, "web/console");
/** What the build reads besides node_modules; any of these newer than the build makes it stale. */
const INPUTS = ["src", "index.html", "vite.config.ts", "package.json", "tsconfig.json"];
const LOCK = join(CONSOLE, ".build-lock");
const LOCK_STALE_MS = 5 * 60_000;

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((e) => newestMtime(join(path, e))));
  return Math.max(info.mtimeMs, ...times);
}

/** True when web/console/dist is missing or older than any of its sources. */
export async function consoleBuildIsStale(outDir = join(CONSOLE, "dist")): Promise<boolean> {
  const built = await stat(join(outDir, "index.html")).catch(() => undefined);
  if (!built) return true;
  const sources = await Promise.all(INPUTS.map((i) => newestMtime(join(CONSOLE, i))));
  return Math.max(...sources) > built.mtimeMs;
}

/**
 * Builds the console (`vite build`) when its build is missing or stale, so `npm ci && npm
 * start` serves it. Several processes (test files, a second `npm start`) may ask at once:
 * one builds under a lock folder, the others wait for it. The build goes to a fresh folder
 * that then replaces dist, so a server never serves half a build.
 */
export async function ensureConsoleBuilt(log: (line: string) => void = () => {}): Promise<"fresh" | "built"> {
  if (!(await consoleBuildIsStale())) return "fresh";
  await takeLock();
  try {
    if (!(await consoleBuildIsStale())) return "fresh";
    log("Building the console (web/console, vite build)…");
    const outDir = join(CONSOLE, `.dist-${process.pid}`);
    await runVite(outDir);
    const dist = join(CONSOLE, "dist");
    const old = join(CONSOLE, `.dist-old-${process.pid}`);
    await rename(dist, old).catch(() => {});
    await rename(outDir, dist);
    await rm(old, { recursive: true, force: true });
    return "built";
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

async function takeLock(): Promise<void> {
  for (;;) {
    try {
      await mkdir(LOCK);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const held = await stat(LOCK).catch(() => undefined);
      if (held && Date.now() - held.mtimeMs > LOCK_STALE_MS) {
        await rm(LOCK, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function runVite(outDir: string): Promise<void> {
  const vite = join(REPO, "node_modules/vite/bin/vite.js");
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"],
      {
        cwd: CONSOLE,
        // Always the production bundle: under vitest NODE_ENV=test would reach Vite and
        // build React's development bundle (565 KB), which a later `npm start` would serve.
        env: { ...process.env, NODE_ENV: "production" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`console build failed (vite exit ${code}):\n${output}`));
    });
  });
}
