/**
 * `npm run bench:handshake-floor`: how much of the handshake target (Relaybase's
 * handshakes/s with a token ≥ 0.8 × B1's connect + join, so at most B1's CPU per
 * handshake ÷ 0.8) one token verification per connection takes on its own. It measures
 * the suite's handshake step (`measureHandshakes`, 50 loops, after the suite's warm-up)
 * for B1, for B1 checking a signed token on every connection with Relaybase's own
 * verifier (bench/lib/b2-node.ts's B1_TOKENS: Ed25519, as the control plane signs them),
 * and for Relaybase. See bench/lib/floor.ts for the rounds.
 *
 *   npm run bench:handshake-floor -- [--reps 3] [--out bench/results/handshake-floor.json]
 */
import { resolve } from "node:path";
import { type FloorVariant, runFloorRounds } from "./lib/floor.js";
import { parseArgs, root, writeResults } from "./lib/rig.js";
import { fmtRatio, fmtSpread } from "./lib/stats.js";
import { measureHandshakes } from "./lib/suite-steps.js";

const args = parseArgs(process.argv.slice(2));
const reps = Number(args.reps ?? 3);
const out = resolve(root, args.out ?? "bench/results/handshake-floor.json");

const variants: FloorVariant[] = [
  { name: "B1", system: "b1" },
  { name: "B1 + token check", system: "b1", env: { B1_TOKENS: "50" } },
  { name: "Relaybase", system: "relaybase" },
];
/** The handshake target's ratio: Relaybase's handshakes/s ≥ 0.8 × B1's. */
const TARGET = 0.8;

const { facts, config, runs, figure } = await runFloorRounds(
  variants,
  reps,
  async (worker, server, cfg, round) => {
    const run = await measureHandshakes(worker, server, cfg, round);
    return {
      usPerHandshake: run.serverUsPerHandshake,
      perSecond: run.perSecond,
      failed: run.failed,
      generatorCpu: run.generatorCpu,
    };
  },
  (r) => `${r.usPerHandshake.toFixed(0)} µs per handshake, ${r.perSecond.toFixed(0)}/s, ${r.failed} failed`,
);

console.log(`\nHandshakes: server CPU per handshake, ${facts.cpu}, ${reps} rounds (median (range)):\n`);
console.log("| variant | µs per handshake | ÷ B1 | share of the budget | handshakes/s |");
console.log("|---|---:|---:|---:|---:|");
const b1 = figure("B1", (r) => r.usPerHandshake).median;
const us = (x: number) => x.toFixed(0);
const rows = variants.map((v) => {
  const cpu = figure(v.name, (r) => r.usPerHandshake);
  const rate = figure(v.name, (r) => r.perSecond);
  const row = { variant: v.name, cpu, rate, ofB1: cpu.median / b1 };
  console.log(
    `| ${v.name} | ${fmtSpread(cpu, us)} | ${fmtRatio(row.ofB1)} | ${(row.ofB1 * TARGET * 100).toFixed(0)}% | ${fmtSpread(rate, us)} |`,
  );
  return row;
});
console.log(
  `\nThe budget: the handshake target (≥ ${TARGET} × B1's handshakes/s) allows at most B1's CPU per handshake ÷ ${TARGET}, ` +
    `${(b1 / TARGET).toFixed(0)} µs. Handshakes that failed: ${runs.reduce((n, r) => n + r.result.failed, 0)}.`,
);
writeResults(out, { benchmark: "handshake-floor", facts, config: config.handshake, rows, runs });
console.error(`results written to ${out}`);
