/**
 * The orchestrator's side of load-worker.ts: starts it pinned to the generator core and
 * runs one command at a time; for commands with a measured window, samples the server's
 * CPU (rig.ts cpuWindow) between the worker's marks.
 */
import { spawn } from "node:child_process";
import type { WorkerCommand } from "./load-worker.js";
import { type CpuWindow, cpuWindow, GENERATOR_CORE, root } from "./rig.js";

export interface LoadWorker {
  run<R>(
    command: WorkerCommand,
    serverPids?: Record<string, number>,
  ): Promise<{ result: R; window?: CpuWindow }>;
  stop(): Promise<void>;
}

export async function startLoadWorker(pin: boolean): Promise<LoadWorker> {
  const args = [
    process.execPath,
    "--max-old-space-size=4096",
    "--import",
    "tsx",
    `${root}bench/lib/load-worker.ts`,
  ];
  const [command, ...rest] = pin ? ["taskset", "-c", String(GENERATOR_CORE), ...args] : args;
  const child = spawn(command!, rest, { cwd: root, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`load worker exited (${code})`)));
  });
  let nextId = 0;
  return {
    run<R>(cmd: WorkerCommand, serverPids: Record<string, number> = {}) {
      const id = nextId++;
      let close: (() => CpuWindow) | undefined;
      let window: CpuWindow | undefined;
      return new Promise<{ result: R; window?: CpuWindow }>((resolve, reject) => {
        const onMessage = (m: { type: string; phase?: string; id?: number; result?: R; error?: string }) => {
          if (m.type === "mark" && m.phase === "start") close = cpuWindow(serverPids);
          if (m.type === "mark" && m.phase === "end" && close) window = close();
          if (m.type === "done" && m.id === id) {
            child.off("message", onMessage);
            child.off("exit", onExit);
            if (m.error) reject(new Error(m.error));
            else resolve({ result: m.result as R, ...(window ? { window } : {}) });
          }
        };
        const onExit = (code: number | null) => reject(new Error(`load worker exited (${code})`));
        child.on("message", onMessage);
        child.once("exit", onExit);
        child.send({ id, command: cmd });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.disconnect();
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
