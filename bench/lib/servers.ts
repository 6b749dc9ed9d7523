/**
 * Starts one benchmarked server process (servers/*.ts, or b2-node.ts as B1) on the server
 * core (it inherits the orchestrator's pinning), with --expose-gc for the memory probe and,
 * when asked, --cpu-prof. It reports its urls and credentials over IPC when ready.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { root } from "./rig.js";
import type { MemorySample } from "./servers/probe.js";

/** `before`: Relaybase from another checkout (`--before DIR`), for before/after ratios in one run. */
export type SuiteSystem = "relaybase" | "b1" | "b0" | "before";

export interface ServerInfo {
  url: string;
  publishUrl: string;
  headers?: Record<string, string>;
  /** Relaybase: the publishable key and minted connection tokens. */
  key?: string;
  tokens?: string[];
}

export interface BenchServer {
  system: SuiteSystem;
  info: ServerInfo;
  pid: number;
  memory(): Promise<MemorySample>;
  /** Starts the CPU profiler, or stops it and writes the profile to `file`. */
  profile(stop: boolean, file?: string): Promise<void>;
  stop(): Promise<void>;
}

const scripts: Record<SuiteSystem, string> = {
  relaybase: "bench/lib/servers/relaybase.ts",
  b1: "bench/lib/b2-node.ts",
  b0: "bench/lib/servers/b0.ts",
  before: "bench/lib/servers/relaybase.ts",
};

export async function startServer(
  system: SuiteSystem,
  options: { env?: Record<string, string>; root?: string } = {},
): Promise<BenchServer> {
  const base = options.root ?? root;
  const flags = ["--expose-gc", "--import", "tsx"];
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  delete env.REDIS_URL; // B1: no adapter
  const child = spawn(process.execPath, [...flags, `${base}${scripts[system]}`], {
    cwd: base,
    env,
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr!.on("data", (c) => {
    stderr = (stderr + c).slice(-4000);
  });
  const info = await new Promise<ServerInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${system} did not start:\n${stderr}`)), 120_000);
    child.on("message", (m: { type?: string } & ServerInfo) => {
      if (m.type !== "ready") return;
      clearTimeout(timer);
      resolve(m);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${system} exited (${code}):\n${stderr}`));
    });
  });
  let nextId = 0;
  return {
    system,
    info,
    pid: child.pid!,
    memory: () => probe(child, nextId++),
    profile: (stopIt, file) => profileCommand(child, nextId++, stopIt, file),
    stop: () => stop(child),
  };
}

function probe(child: ChildProcess, id: number): Promise<MemorySample> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("memory probe timed out")), 30_000);
    const onMessage = (m: { type?: string; id?: number; sample?: MemorySample }) => {
      if (m.type !== "mem" || m.id !== id || !m.sample) return;
      clearTimeout(timer);
      child.off("message", onMessage);
      resolve(m.sample);
    };
    child.on("message", onMessage);
    child.send({ type: "mem", id });
  });
}

function profileCommand(child: ChildProcess, id: number, stopIt: boolean, file?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string; id?: number; error?: string }) => {
      if (m.type !== "profiled" || m.id !== id) return;
      child.off("message", onMessage);
      if (m.error) reject(new Error(m.error));
      else resolve();
    };
    child.on("message", onMessage);
    child.send({ type: "profile", id, stop: stopIt, file });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.send({ type: "exit" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  await exited;
  clearTimeout(timer);
}
