/**
 * `node --import tsx bench/report.ts bench/results/suite.json`: prints the targets and the
 * markdown section of a suite results file again (after a change to the report), with the
 * fan-out figures recomputed from each step's server CPU and generator limit.
 */
import { readFileSync } from "node:fs";
import { spread } from "./lib/stats.js";
import { renderSuite, type SuiteReport, suiteTargets } from "./lib/suite-report.js";
import { cpuCapacityOf, type FanoutStep, generatorCapped } from "./lib/suite-steps.js";

const file = process.argv[2];
if (!file) throw new Error("usage: report.ts RESULTS.json");
const report = JSON.parse(readFileSync(file, "utf8")) as SuiteReport;
for (const run of report.fanout) {
  for (const s of run.steps as (FanoutStep & { serverCpuMs?: number })[]) {
    // Files written before serverCpuMs was kept: µs per delivery was per delivery received.
    const ms = s.serverCpuMs ?? (s.serverUsPerDelivery * Math.max(1, s.delivered)) / 1000;
    s.serverCpuMs = ms;
    s.serverUsPerDelivery = (ms * 1000) / Math.max(1, s.expected);
  }
  const passed = run.steps.filter((s) => s.pass);
  run.serverUsPerDelivery = spread(
    (passed.length ? passed : run.steps).map((s) => s.serverUsPerDelivery),
  ).median;
  run.cpuCapacity = cpuCapacityOf(run.steps);
  run.generatorCapped = generatorCapped(run.steps, run.maxDeliveriesPerSecond);
}
const targets = suiteTargets(report);
for (const t of targets) console.error(`${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.measured}`);
console.log(renderSuite(report, targets));
