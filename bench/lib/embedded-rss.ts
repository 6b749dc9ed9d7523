/**
 * Baseline RSS of the embedded process (`npm start`): the all-in-one platform started as a
 * user starts it (PGlite in a fresh DATA_DIR, ports 0, console not served), its RSS read
 * from /proc once it printed that it is running and has settled. `npm start` runs
 * all-in-one/start.mjs (the esbuild bundle in plain node, in the same process): on an empty
 * DATA_DIR, then again on it. Then src/main.ts through tsx on it, as `npm start` ran before,
 * so the cost of compiling TypeScript at run time shows separately.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root, sleep } from "./rig.js";

export interface EmbeddedRss {
  /** "npm start": all-in-one/start.mjs; "tsx": src/main.ts through tsx; "bundle": the bundle alone (older results). */
  mode: "npm start" | "tsx" | "bundle";
  /** First start on an empty DATA_DIR (PGlite runs initdb), or a restart on the same one. */
  start: "first" | "restart";
  rssMiB: number;
  /** Seconds from spawn to "Relaybase is running". */
  startS: number;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

async function measure(
  mode: EmbeddedRss["mode"],
  start: EmbeddedRss["start"],
  dataDir: string,
  settleMs: number,
): Promise<EmbeddedRss> {
  const args = {
    "npm start": [`${root}all-in-one/start.mjs`],
    tsx: ["--import", "tsx", `${root}all-in-one/src/main.ts`],
    bundle: [`${root}all-in-one/dist/bin/main.js`],
  }[mode];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      CONSOLE_DIR: dataDir,
      CONTROL_PLANE_PORT: "0",
      REALTIME_PORT: "0",
      REST_PORT: "0",
      NODE_ENV: "production",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`embedded (${mode}) did not start:\n${out}`)), 120_000);
      const onData = (c: Buffer) => {
        out = (out + c).slice(-4000);
        if (out.includes("Relaybase is running")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => reject(new Error(`embedded (${mode}) exited (${code}):\n${out}`)));
    });
    const startS = Math.round((performance.now() - t0) / 100) / 10;
    await sleep(settleMs);
    return { mode, start, rssMiB: rssMiB(child.pid!), startS };
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(t);
  }
}

/**
 * Builds the all-in-one bundle (docker/build.ts, so `npm start`'s time is its start, not a
 * rebuild) and measures: `npm start` on an empty DATA_DIR, `npm start` again on it, and tsx on it.
 */
export async function embeddedRss(settleMs: number): Promise<EmbeddedRss[]> {
  const dataDir = mkdtempSync(join(tmpdir(), "rb-bench-rss-"));
  try {
    return await measureAll(dataDir, settleMs);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measureAll(dataDir: string, settleMs: number): Promise<EmbeddedRss[]> {
  const built = spawnSync(process.execPath, ["--import", "tsx", `${root}docker/build.ts`, "all-in-one"], {
    cwd: root,
    stdio: "ignore",
  });
  if (built.status !== 0) throw new Error("docker/build.ts all-in-one failed");
  return [
    await measure("npm start", "first", dataDir, settleMs),
    await measure("npm start", "restart", dataDir, settleMs),
    await measure("tsx", "restart", dataDir, settleMs),
  ];
}
