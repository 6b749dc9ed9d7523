import { type LoadWorker, startLoadWorker } from "./load-client.js";
import { load1, machineFacts, pinSelf, SERVER_CORE } from "./rig.js";
import { type BenchServer, type SuiteSystem, startServer } from "./servers.js";
import { spread } from "./stats.js";
import { suiteConfig } from "./suite-config.js";
import { type SuiteConfig, warmUpServer } from "./suite-steps.js";

/**
 * The floor scripts (bench/rest-floor.ts, bench/handshake-floor.ts): B1 with only what
 * Relaybase must do on a path added (bench/lib/b2-node.ts's B1_FLOOR, B1_TOKENS), beside
 * B1 and Relaybase, to see how much of a target's budget that alone takes.
 */
export interface FloorVariant {
  name: string;
  system: SuiteSystem;
  env?: Record<string, string>;
}

export interface FloorRun<R> {
  variant: string;
  round: number;
  load1: number;
  result: R;
}

/**
 * Runs `measure` once per variant per round, each variant a fresh process warmed up like
 * the suite's servers, rounds rotating the order; the suite's rig (servers on core 0, the
 * generator on core 1) and its full mode's settings.
 */
export async function runFloorRounds<R>(
  variants: FloorVariant[],
  reps: number,
  measure: (worker: LoadWorker, server: BenchServer, config: SuiteConfig, round: number) => Promise<R>,
  describe: (r: R) => string,
) {
  const config = suiteConfig(false, reps);
  const pinned = pinSelf(SERVER_CORE);
  const facts = machineFacts();
  console.error(`machine: ${JSON.stringify(facts)}; pinned: ${pinned}`);
  const worker = await startLoadWorker(pinned);
  const runs: FloorRun<R>[] = [];
  try {
    for (let round = 0; round < reps; round++) {
      for (let i = 0; i < variants.length; i++) {
        const v = variants[(i + round) % variants.length]!;
        const server = await startServer(v.system, { env: v.env ?? {} });
        try {
          await warmUpServer(worker, server, config);
          const result = await measure(worker, server, config, round);
          runs.push({ variant: v.name, round, load1: load1(), result });
          console.error(`  ${v.name}, round ${round}: ${describe(result)}`);
        } finally {
          await server.stop();
        }
      }
    }
  } finally {
    await worker.stop();
  }
  /** One figure of one variant over the rounds: median and range. */
  const figure = (name: string, f: (r: R) => number) =>
    spread(runs.filter((r) => r.variant === name).map((r) => f(r.result)));
  return { facts, config, runs, figure };
}
