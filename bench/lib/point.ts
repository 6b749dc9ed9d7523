/**
 * One measured point: a generator run on the generator core, with the server processes'
 * CPU and each core's busy share sampled over exactly its measured window.
 */
import { type CpuWindow, cpuWindow, load1, runPinned } from "./rig.js";
import { fmtPct, fmtUs } from "./stats.js";
import type { GeneratorConfig, GeneratorResult } from "./types.js";

export interface PointRun {
  rep: number;
  result: GeneratorResult;
  window: CpuWindow;
  loadBefore: number;
  /** Server processes' CPU in the measured window ÷ messages sent, in µs. */
  serverUsPerMessage: number;
  /** Server processes' CPU ÷ wall time (1 = one core). */
  serverCpu: number;
  /**
   * CPU used in the window by processes that are not ours (other people's work on a shared
   * machine): both cores' busy time minus the servers' and the generator's, in cores.
   */
  otherCpu: number;
  /** Generator CPU (plus any other load process on its core) within the limit. */
  valid: boolean;
}

export async function runPoint(
  config: GeneratorConfig,
  rep: number,
  options: {
    serverPids: Record<string, number | undefined>;
    maxGeneratorCpu: number;
    /** CPU of other processes on the generator core (e.g. the flooder), added before the check. */
    extraGeneratorCpu?: () => number;
    log?: (line: string) => void;
  },
): Promise<PointRun> {
  const loadBefore = load1();
  let close: (() => CpuWindow) | undefined;
  let window: CpuWindow | undefined;
  const run = runPinned<GeneratorResult>("bench/lib/generator.ts", config, {
    onMark: (phase) => {
      if (phase === "start") close = cpuWindow(options.serverPids);
      if (phase === "end" && close) window = close();
    },
  });
  const result = await run.result;
  if (!window) throw new Error("the generator sent no measurement marks");
  const serverMs = Object.values(window.processes).reduce((a, b) => a + b, 0);
  const point: PointRun = {
    rep,
    result,
    window,
    loadBefore,
    serverUsPerMessage: (serverMs * 1000) / result.sent,
    serverCpu: serverMs / window.wallMs,
    otherCpu: Math.max(
      0,
      window.cores.reduce((a, b) => a + b, 0) -
        serverMs / window.wallMs -
        result.generatorCpu -
        (options.extraGeneratorCpu?.() ?? 0),
    ),
    valid: result.generatorCpu + (options.extraGeneratorCpu?.() ?? 0) <= options.maxGeneratorCpu,
  };
  options.log?.(describe(point));
  return point;
}

export function describe(point: PointRun): string {
  const r = point.result;
  return (
    `  ${r.label.padEnd(18)} rep ${point.rep}: p50 ${fmtUs(r.latency.p50)} p99 ${fmtUs(r.latency.p99)}` +
    ` p99.9 ${fmtUs(r.latency.p999)} max ${fmtUs(r.latency.max)} | http p99 ${fmtUs(r.http.p99)}` +
    ` | ${r.delivered}/${r.expected} | gen cpu ${fmtPct(r.generatorCpu)} servers ${fmtPct(point.serverCpu)}` +
    ` (${point.serverUsPerMessage.toFixed(0)} µs/msg) cores ${point.window.cores.map(fmtPct).join("/")} other ${fmtPct(point.otherCpu)}` +
    ` | load ${point.loadBefore}${point.valid ? "" : " | DISCARDED (generator core over the CPU limit)"}`
  );
}
