/**
 * The rig (shared/BENCH.md): servers and Redis pinned to core 0, the load generator to
 * core 1 with `taskset`; CPU of our processes and of each core sampled from /proc over a
 * run's measured window; load average and machine facts for the report.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const SERVER_CORE = 0;
export const GENERATOR_CORE = 1;

const hasTaskset = spawnSync("taskset", ["--version"]).status === 0;
const canPin = hasTaskset && cpus().length >= 2;

/** Pins this process (every thread) to a core; children inherit it. Returns false when it cannot. */
export function pinSelf(core: number): boolean {
  if (!canPin) return false;
  return spawnSync("taskset", ["-a", "-p", "-c", String(core), String(process.pid)]).status === 0;
}

/** The cores a process may run on, as taskset prints them ("0", "1", "0,1"). */
export function affinityOf(pid: number): string {
  const r = spawnSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split(":").pop()!.trim() : "?";
}

export function machineFacts() {
  const c = cpus();
  return {
    nproc: c.length,
    cpu: c[0]?.model ?? "?",
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.trim(),
    pinned: canPin,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    // The code measured: the services load the work tree as it is when they start.
    commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim(),
    dirtyFiles: spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: root,
      encoding: "utf8",
    })
      .stdout.split("\n")
      .filter(Boolean).length,
    date: new Date().toISOString(),
  };
}

export const load1 = () => Math.round(loadavg()[0]! * 100) / 100;

/**
 * Waits until the 1-minute load average is under `max` (other people's test suites on a
 * shared machine), polling every 30 s, at most `timeoutMs`. Returns the load it settled at.
 */
export async function waitForQuiet(max: number, timeoutMs: number, log = console.error): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = load1();
    if (l <= max) return l;
    if (Date.now() > deadline) {
      log(
        `load ${l} still above ${max} after ${Math.round(timeoutMs / 1000)} s; going on (noted in the results)`,
      );
      return l;
    }
    log(`load ${l} > ${max}: waiting 30 s`);
    await new Promise((r) => setTimeout(r, 30_000));
  }
}

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** User + system CPU of a process (all its threads), in ms; NaN if it is gone. */
export function processCpuMs(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/** Busy and total jiffies per core, from /proc/stat. */
function coreTimes(): { busy: number; total: number }[] {
  return readFileSync("/proc/stat", "utf8")
    .split("\n")
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const v = l.trim().split(/\s+/).slice(1).map(Number);
      const idle = (v[3] ?? 0) + (v[4] ?? 0);
      const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    });
}

export interface CpuWindow {
  wallMs: number;
  /** Busy share of each core over the window (everyone's processes, ours and others'). */
  cores: number[];
  /** CPU ms each named process used over the window. */
  processes: Record<string, number>;
  loadavg1: number;
}

/** Starts sampling; call the result to close the window. */
export function cpuWindow(pids: Record<string, number | undefined>): () => CpuWindow {
  const t0 = performance.now();
  const c0 = coreTimes();
  const p0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuMs(pid)]));
  return () => {
    const c1 = coreTimes();
    const wallMs = performance.now() - t0;
    return {
      wallMs,
      cores: c1.map((c, i) => {
        const total = c.total - (c0[i]?.total ?? 0);
        return total > 0 ? (c.busy - (c0[i]?.busy ?? 0)) / total : NaN;
      }),
      processes: Object.fromEntries(
        Object.entries(pids).map(([k, pid]) => [k, processCpuMs(pid) - (p0[k] ?? NaN)]),
      ),
      loadavg1: load1(),
    };
  };
}

export interface PinnedRun<R> {
  child: ChildProcess;
  result: Promise<R>;
}

/**
 * Runs a bench script (`node --import tsx`) pinned to `core`, with its config as JSON in
 * argv. The script sends `{ type: "mark", phase }` around its measured window (so the
 * caller can sample server CPU for the same window) and `{ type: "result", result }`.
 */
export function runPinned<R>(
  script: string,
  config: unknown,
  options: { core?: number; onMark?: (phase: string) => void; timeoutMs?: number } = {},
): PinnedRun<R> {
  const core = options.core ?? GENERATOR_CORE;
  const args = [process.execPath, "--import", "tsx", `${root}${script}`, JSON.stringify(config)];
  const [command, ...rest] = canPin ? ["taskset", "-c", String(core), ...args] : args;
  const child = spawn(command!, rest, { cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const result = new Promise<R>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (!done) child.kill("SIGKILL");
      reject(new Error(`${script} took longer than ${options.timeoutMs ?? 120_000} ms`));
    }, options.timeoutMs ?? 120_000);
    child.on("message", (m: { type: string; phase?: string; result?: R }) => {
      if (m.type === "mark" && m.phase) options.onMark?.(m.phase);
      if (m.type === "result") {
        done = true;
        clearTimeout(timer);
        resolve(m.result as R);
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (!done) reject(new Error(`${script} exited (${code ?? signal}) without a result`));
    });
  });
  result.catch(() => {});
  return { child, result };
}

/** Parses `--name value` and `--flag` arguments. */
export function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith("--")) out[a.slice(2)] = "true";
    else {
      out[a.slice(2)] = next;
      i++;
    }
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Writes a results file, formatted the way `biome check` wants it (the repo lints bench/). */
export function writeResults(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
  spawnSync(`${root}node_modules/.bin/biome`, ["format", "--write", path], { cwd: root, stdio: "ignore" });
}
