/**
 * `npm run bench:rest-floor`: how much of the REST target (Relaybase ≥ 0.6 × B1's
 * publishes/s, so at most B1's CPU per request ÷ 0.6) is taken by what every Relaybase
 * publish must do whatever else is cut. For B1, for B1 with each floor level of
 * bench/lib/b2-node.ts added (connection state recovery, a stored positioned entry, the
 * content checks), and for Relaybase, it measures the server's CPU per request twice,
 * after the suite's warm-up: at one open-loop rate that every variant sustains (`--rate`,
 * the like-for-like figure), and at the variant's own closed-loop maximum (`measureRest`,
 * what the suite's target uses). Rounds rotate the order; each variant is a fresh process;
 * the rig is the suite's (servers on core 0, the generator on core 1).
 *
 *   npm run bench:rest-floor -- [--reps 3] [--rate 2000] [--out bench/results/rest-floor.json]
 */
import { resolve } from "node:path";
import { startLoadWorker } from "./lib/load-client.js";
import { load1, machineFacts, parseArgs, pinSelf, root, SERVER_CORE, writeResults } from "./lib/rig.js";
import { type SuiteSystem, startServer } from "./lib/servers.js";
import { fmtRatio, fmtSpread, spread } from "./lib/stats.js";
import { suiteConfig } from "./lib/suite-config.js";
import { measureRest, measureRestAt, warmUpServer } from "./lib/suite-steps.js";

const args = parseArgs(process.argv.slice(2));
const config = suiteConfig(false, Number(args.reps ?? 3));
const rate = Number(args.rate ?? 2000);
const out = resolve(root, args.out ?? "bench/results/rest-floor.json");
const log = (...m: unknown[]) => console.error(...m);

interface Variant {
  name: string;
  system: SuiteSystem;
  floor?: string;
}
const variants: Variant[] = [
  { name: "B1", system: "b1" },
  { name: "B1 + recovery", system: "b1", floor: "recovery" },
  { name: "B1 + recovery + history", system: "b1", floor: "history" },
  { name: "B1 + recovery + history + checks", system: "b1", floor: "checks" },
  { name: "Relaybase", system: "relaybase" },
];
interface FloorRun {
  variant: string;
  round: number;
  /** Server CPU per request at `rate`, and at the variant's maximum. */
  atRate: { usPerRequest: number; perSecond: number; failed: number; p99Ms: number };
  atMax: { usPerRequest: number; perSecond: number; generatorCpu: number };
  load1: number;
}
/** The REST target's ratio: Relaybase's publishes/s ≥ 0.6 × B1's. */
const TARGET = 0.6;

const pinned = pinSelf(SERVER_CORE);
const facts = machineFacts();
log(`machine: ${JSON.stringify(facts)}; pinned: ${pinned}`);
const worker = await startLoadWorker(pinned);
const runs: FloorRun[] = [];
try {
  for (let round = 0; round < config.reps; round++) {
    const order = variants.map((_, i) => variants[(i + round) % variants.length]!);
    for (const v of order) {
      const server = await startServer(v.system, { env: v.floor ? { B1_FLOOR: v.floor } : {} });
      try {
        await warmUpServer(worker, server, config);
        const at = await measureRestAt(worker, server, config, rate);
        const { max } = await measureRest(worker, server, config, round);
        runs.push({
          variant: v.name,
          round,
          atRate: {
            usPerRequest: at.serverUsPerRequest,
            perSecond: at.perSecond,
            failed: at.failed,
            p99Ms: at.latency.p99 / 1000,
          },
          atMax: {
            usPerRequest: max.serverUsPerRequest,
            perSecond: max.perSecond,
            generatorCpu: max.generatorCpu,
          },
          load1: load1(),
        });
        log(
          `  ${v.name}, round ${round}: ${at.serverUsPerRequest.toFixed(1)} µs per request at ${rate}/s (${at.failed} failed), ${max.serverUsPerRequest.toFixed(1)} at its max`,
        );
      } finally {
        await server.stop();
      }
    }
  }
} finally {
  await worker.stop();
}

const figure = (name: string, f: (r: FloorRun) => number) =>
  spread(runs.filter((r) => r.variant === name).map(f));
console.log(`\nREST: server CPU per request, ${facts.cpu}, ${config.reps} rounds (median (range)):\n`);
console.log(`| variant | µs at ${rate}/s | ÷ B1 | share of the budget | µs at its max | ÷ B1 |`);
console.log("|---|---:|---:|---:|---:|---:|");
const b1At = figure("B1", (r) => r.atRate.usPerRequest).median;
const b1Max = figure("B1", (r) => r.atMax.usPerRequest).median;
const rows = variants.map((v) => {
  const at = figure(v.name, (r) => r.atRate.usPerRequest);
  const max = figure(v.name, (r) => r.atMax.usPerRequest);
  const row = { variant: v.name, at, max, atOfB1: at.median / b1At, maxOfB1: max.median / b1Max };
  const us = (x: number) => x.toFixed(1);
  console.log(
    `| ${v.name} | ${fmtSpread(at, us)} | ${fmtRatio(row.atOfB1)} | ${(row.atOfB1 * TARGET * 100).toFixed(0)}% | ${fmtSpread(max, us)} | ${fmtRatio(row.maxOfB1)} |`,
  );
  return row;
});
console.log(
  `\nThe budget: the REST target (≥ ${TARGET} × B1's publishes/s) allows at most B1's CPU per request ÷ ${TARGET}, ` +
    `${(b1At / TARGET).toFixed(1)} µs at ${rate}/s. Requests that failed: ${runs.reduce((n, r) => n + r.atRate.failed, 0)}.`,
);
writeResults(out, { benchmark: "rest-floor", facts, rate, config: config.rest, rows, runs });
log(`results written to ${out}`);
