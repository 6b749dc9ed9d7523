import type { SuiteConfig } from "./suite-steps.js";

/**
 * The suite's two modes (bench/suite.ts), also used by the scripts that rerun one of its
 * paths (bench/rest-floor.ts), so that a path is measured the same way everywhere.
 * Repetitions: 1 in the quick mode and 3 in the full one unless `reps` says otherwise.
 */
export function suiteConfig(quick: boolean, reps?: number): SuiteConfig {
  if (quick) {
    return {
      reps: reps ?? 1,
      warmUp: { minMs: 2000, maxMs: 6500, stepMaxMs: 2500 },
      memory: { from: 400, to: 1200 },
      handshake: { concurrency: 50, warmupMs: 1000, durationMs: 2000 },
      fanout: {
        points: [
          { rooms: 1, perRoom: 1000, payload: 100 },
          { rooms: 100, perRoom: 10, payload: 100 },
        ],
        warmupMs: 500,
        measureMs: 1500,
        drainMs: 1500,
        factors: [0.8, 1.05],
        maxGeneratorCpu: 0.75,
      },
      rest: { connections: 32, warmupMs: 1000, durationMs: 2000 },
    };
  }
  return {
    reps: reps ?? 3,
    warmUp: { minMs: 8000, maxMs: 20_000, stepMaxMs: 10_000 },
    memory: { from: 1000, to: 10_000 },
    handshake: { concurrency: 50, warmupMs: 1000, durationMs: 5000 },
    fanout: {
      points: [100, 1000, 10_000]
        .flatMap((perRoom) => [100, 1024].map((payload) => ({ rooms: 1, perRoom, payload })))
        .concat([100, 1024].map((payload) => ({ rooms: 100, perRoom: 10, payload }))),
      warmupMs: 1000,
      measureMs: 4000,
      drainMs: 3000,
      factors: [0.7, 0.9, 1.1, 1.3],
      maxGeneratorCpu: 0.75,
    },
    rest: { connections: 32, warmupMs: 1000, durationMs: 5000 },
  };
}
