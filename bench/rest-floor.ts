/**
 * `npm run bench:rest-floor`: how much of the REST target (Relaybase ≥ 0.6 × B1's
 * publishes/s, so at most B1's CPU per request ÷ 0.6) is taken by what every Relaybase
 * publish must do whatever else is cut. For B1, for B1 with each floor level of
 * bench/lib/b2-node.ts added (connection state recovery, a stored positioned entry, the
 * content checks), and for Relaybase, it measures the server's CPU per request twice,
 * after the suite's warm-up: at one open-loop rate that every variant sustains (`--rate`,
 * the like-for-like figure), and at the variant's own closed-loop maximum (`measureRest`,
 * what the suite's target uses). See bench/lib/floor.ts for the rounds.
 *
 *   npm run bench:rest-floor -- [--reps 3] [--rate 2000] [--out bench/results/rest-floor.json]
 */
import { resolve } from "node:path";
import { type FloorVariant, runFloorRounds } from "./lib/floor.js";
import { parseArgs, root, writeResults } from "./lib/rig.js";
import { fmtRatio, fmtSpread } from "./lib/stats.js";
import { measureRest, measureRestAt } from "./lib/suite-steps.js";

const args = parseArgs(process.argv.slice(2));
const reps = Number(args.reps ?? 3);
const rate = Number(args.rate ?? 2000);
const out = resolve(root, args.out ?? "bench/results/rest-floor.json");

const variants: FloorVariant[] = [
  { name: "B1", system: "b1" },
  { name: "B1 + recovery", system: "b1", env: { B1_FLOOR: "recovery" } },
  { name: "B1 + recovery + history", system: "b1", env: { B1_FLOOR: "history" } },
  { name: "B1 + recovery + history + checks", system: "b1", env: { B1_FLOOR: "checks" } },
  { name: "Relaybase", system: "relaybase" },
];
/** The REST target's ratio: Relaybase's publishes/s ≥ 0.6 × B1's. */
const TARGET = 0.6;

const { facts, config, runs, figure } = await runFloorRounds(
  variants,
  reps,
  async (worker, server, cfg, round) => {
    const at = await measureRestAt(worker, server, cfg, rate);
    const { max } = await measureRest(worker, server, cfg, round);
    return {
      /** Server CPU per request at `rate`, and at the variant's maximum. */
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
    };
  },
  (r) =>
    `${r.atRate.usPerRequest.toFixed(1)} µs per request at ${rate}/s (${r.atRate.failed} failed), ${r.atMax.usPerRequest.toFixed(1)} at its max`,
);

console.log(`\nREST: server CPU per request, ${facts.cpu}, ${reps} rounds (median (range)):\n`);
console.log(`| variant | µs at ${rate}/s | ÷ B1 | share of the budget | µs at its max | ÷ B1 |`);
console.log("|---|---:|---:|---:|---:|---:|");
const b1At = figure("B1", (r) => r.atRate.usPerRequest).median;
const b1Max = figure("B1", (r) => r.atMax.usPerRequest).median;
const us = (x: number) => x.toFixed(1);
const rows = variants.map((v) => {
  const at = figure(v.name, (r) => r.atRate.usPerRequest);
  const max = figure(v.name, (r) => r.atMax.usPerRequest);
  const row = { variant: v.name, at, max, atOfB1: at.median / b1At, maxOfB1: max.median / b1Max };
  console.log(
    `| ${v.name} | ${fmtSpread(at, us)} | ${fmtRatio(row.atOfB1)} | ${(row.atOfB1 * TARGET * 100).toFixed(0)}% | ${fmtSpread(max, us)} | ${fmtRatio(row.maxOfB1)} |`,
  );
  return row;
});
console.log(
  `\nThe budget: the REST target (≥ ${TARGET} × B1's publishes/s) allows at most B1's CPU per request ÷ ${TARGET}, ` +
    `${(b1At / TARGET).toFixed(1)} µs at ${rate}/s. Requests that failed: ${runs.reduce((n, r) => n + r.result.atRate.failed, 0)}.`,
);
writeResults(out, { benchmark: "rest-floor", facts, rate, config: config.rest, rows, runs });
console.error(`results written to ${out}`);
