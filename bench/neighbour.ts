/**
 * Benchmark: noisy neighbour (issue 4, BENCH.md metric 6), on the distributed cluster
 * (2 realtime nodes, 1 REST instance, Redis; core 0).
 *
 * App Q (plan scale) publishes over REST at a modest fixed rate, open loop, to a room
 * with subscribers on both nodes (generator on core 1), which measure its latency. Each
 * repetition runs Q alone and Q while app N (plan free) floods the same REST instance at
 * 10× N's `restPublishesPerSecond` (a second process on core 1; N also has a subscriber
 * on each node, which get what passes N's limit). The two are alternated in order.
 *
 *   npm run bench:neighbour -- [--rate 200] [--runs 5] [--measure 8000] [--warmup 2000]
 *     [--flood-factor 10] [--max-load 1.0] [--wait-load 600] [--out bench/results/neighbour.json]
 */
import { resolve } from "node:path";
import { PLANS } from "@relaybase/server-kit";
import { describe, type PointRun, runPoint } from "./lib/point.js";
import {
  load1,
  machineFacts,
  parseArgs,
  pinSelf,
  root,
  runPinned,
  SERVER_CORE,
  sleep,
  waitForQuiet,
  writeResults,
} from "./lib/rig.js";
import { closeOnInterrupt, startBenchCluster } from "./lib/setup.js";
import { fmtPct, fmtRatio, fmtSpread, fmtUs, type Spread, spread } from "./lib/stats.js";
import type { FlooderConfig, FlooderResult, GeneratorConfig } from "./lib/types.js";

const args = parseArgs(process.argv.slice(2));
const rate = Number(args.rate ?? 200);
const runs = Number(args.runs ?? 5);
const warmupMs = Number(args.warmup ?? 2000);
const measureMs = Number(args.measure ?? 8000);
const drainMs = Number(args.drain ?? 3000);
const subsPerNode = Number(args["subs-per-node"] ?? 2);
const payloadBytes = Number(args.payload ?? 100);
const floodFactor = Number(args["flood-factor"] ?? 10);
const maxLoad = Number(args["max-load"] ?? 1.0);
const waitLoadS = Number(args["wait-load"] ?? 600);
const maxGeneratorCpu = Number(args["max-generator-cpu"] ?? 0.75);
const out = resolve(root, args.out ?? "bench/results/neighbour.json");
const log = (...m: unknown[]) => console.error(...m);
/** The flood starts this long before Q's warm-up, so Q is measured against a steady flood. */
const floodLeadMs = 1000;

type Mode = "alone" | "flood";

interface NeighbourRun extends PointRun {
  mode: Mode;
  flood?: FlooderResult;
}

async function main() {
  const pinned = pinSelf(SERVER_CORE);
  const facts = machineFacts();
  log(`machine: ${JSON.stringify(facts)}; orchestrator pinned to core ${SERVER_CORE}: ${pinned}`);
  const settledLoad = await waitForQuiet(maxLoad, waitLoadS * 1000, log);

  log("starting Redis and the Relaybase cluster (2 nodes, 1 REST)…");
  const bench = await startBenchCluster({ b2: false });
  closeOnInterrupt(bench);
  try {
    const quiet = await bench.relaybase.developer({ plan: "scale" });
    const noisy = await bench.relaybase.developer({ plan: "free" });
    const floodLimit = PLANS.free.restPublishesPerSecond;
    const floodRate = floodFactor * floodLimit;
    const { cluster } = bench.relaybase;
    const restUrl = cluster.rest[0]!.url;
    const room = "public:bench";

    const quietConfig = (label: string, overrides: Partial<GeneratorConfig> = {}): GeneratorConfig => ({
      system: "relaybase",
      label,
      subscribers: cluster.nodes.flatMap((n, node) =>
        Array.from({ length: subsPerNode }, () => ({
          url: n.url,
          node,
          auth: { key: quiet.publishableKey },
        })),
      ),
      room,
      publishUrl: `${restUrl}/v1/apps/${quiet.appId}/publish`,
      headers: { authorization: `Bearer ${quiet.secret}` },
      rate,
      warmupMs,
      measureMs,
      drainMs,
      payloadBytes,
      ...overrides,
    });
    const floodConfig = (durationMs: number): FlooderConfig => ({
      publishUrl: `${restUrl}/v1/apps/${noisy.appId}/publish`,
      headers: { authorization: `Bearer ${noisy.secret}` },
      room: "public:flood",
      rate: floodRate,
      durationMs,
      subscribers: cluster.nodes.map((n) => ({ url: n.url, auth: { key: noisy.publishableKey } })),
    });

    const runMode = async (
      mode: Mode,
      rep: number,
      cfg = quietConfig(`Q ${mode}`),
    ): Promise<NeighbourRun> => {
      if (mode === "alone") {
        return {
          mode,
          ...(await runPoint(cfg, rep, { serverPids: bench.serverPids.relaybase, maxGeneratorCpu, log })),
        };
      }
      const flooder = runPinned<FlooderResult>(
        "bench/lib/flooder.ts",
        floodConfig(floodLeadMs + cfg.warmupMs + cfg.measureMs + 500),
      );
      // Its subscribers connect first; then the flood runs for floodLeadMs before Q starts.
      await sleep(floodLeadMs + 1500);
      const point = await runPoint(cfg, rep, { serverPids: bench.serverPids.relaybase, maxGeneratorCpu });
      // The flooder shares the generator core: the CPU check counts both.
      const flood = await flooder.result;
      const coreCpu = point.result.generatorCpu + flood.cpu;
      const valid = coreCpu <= maxGeneratorCpu;
      const s429 = (flood.statuses["429"] ?? 0) / flood.sent;
      log(
        `    flood: ${flood.sent} sent at ${floodRate}/s, 429 ${fmtPct(s429)}, 202 ${flood.statuses["202"] ?? 0}, errors ${flood.httpErrors}, N delivered ${flood.delivered}, flooder cpu ${fmtPct(flood.cpu)}; generator core ${fmtPct(coreCpu)}${valid ? "" : " DISCARDED"}`,
      );
      const otherCpu = Math.max(0, point.otherCpu - flood.cpu);
      const run: NeighbourRun = { ...point, valid, otherCpu, mode, flood };
      log(describe(run));
      return run;
    };

    log("warm-up (discarded)…");
    for (const mode of ["alone", "flood"] as Mode[]) {
      await runMode(mode, 0, quietConfig(`Q ${mode} warm-up`, { warmupMs: 2000, measureMs: 2000 }));
    }

    const results: NeighbourRun[] = [];
    const started = Date.now();
    for (let rep = 1; rep <= runs; rep++) {
      log(`repetition ${rep}/${runs} (load ${load1()})`);
      const order: Mode[] = rep % 2 ? ["alone", "flood"] : ["flood", "alone"];
      for (const mode of order) results.push(await runMode(mode, rep));
    }
    const elapsedS = Math.round((Date.now() - started) / 1000);

    const report = summarizeNeighbour(results);
    const md = renderNeighbour(report, { facts, settledLoad, elapsedS, floodRate, floodLimit });
    console.log(md);
    writeResults(out, {
      benchmark: "neighbour",
      facts,
      settledLoad,
      elapsedS,
      options: {
        rate,
        runs,
        warmupMs,
        measureMs,
        drainMs,
        subsPerNode,
        payloadBytes,
        floodFactor,
        floodRate,
        floodLimit,
        maxGeneratorCpu,
      },
      report,
      results,
    });
    log(`results written to ${out}`);
  } finally {
    await bench.close();
  }
}

interface ModeSummary {
  runs: number;
  discarded: number;
  p50: Spread;
  p99: Spread;
  p999: Spread;
  max: Spread;
  httpP99: Spread;
  delivered: Spread;
  lost: number;
  qNon2xx: number;
  serverCpu: Spread;
  core0: Spread;
  otherCpu: Spread;
  generatorCore: Spread;
  load: Spread;
}

function summarizeMode(all: NeighbourRun[]): ModeSummary {
  const v = all.filter((r) => r.valid);
  return {
    runs: v.length,
    discarded: all.length - v.length,
    p50: spread(v.map((r) => r.result.latency.p50)),
    p99: spread(v.map((r) => r.result.latency.p99)),
    p999: spread(v.map((r) => r.result.latency.p999)),
    max: spread(v.map((r) => r.result.latency.max)),
    httpP99: spread(v.map((r) => r.result.http.p99)),
    delivered: spread(v.map((r) => r.result.delivered / r.result.expected)),
    lost: v.reduce((a, r) => a + r.result.expected - r.result.delivered, 0),
    qNon2xx: v.reduce(
      (a, r) =>
        a +
        r.result.httpErrors +
        Object.entries(r.result.statuses)
          .filter(([s]) => !s.startsWith("2"))
          .reduce((x, [, n]) => x + n, 0),
      0,
    ),
    serverCpu: spread(v.map((r) => r.serverCpu)),
    core0: spread(v.map((r) => r.window.cores[0] ?? NaN)),
    otherCpu: spread(all.map((r) => r.otherCpu)),
    generatorCore: spread(all.map((r) => r.result.generatorCpu + (r.flood?.cpu ?? 0))),
    load: spread(all.map((r) => r.loadBefore)),
  };
}

function summarizeNeighbour(results: NeighbourRun[]) {
  const alone = results.filter((r) => r.mode === "alone");
  const flood = results.filter((r) => r.mode === "flood");
  const paired = (f: (r: NeighbourRun) => number) => {
    const ratios: number[] = [];
    for (const fl of flood) {
      const al = alone.find((a) => a.rep === fl.rep);
      if (fl.valid && al?.valid) ratios.push(f(fl) / f(al));
    }
    return spread(ratios);
  };
  const floods = flood.filter((r) => r.valid && r.flood).map((r) => r.flood!);
  return {
    alone: summarizeMode(alone),
    flood: summarizeMode(flood),
    ratios: {
      p50: paired((r) => r.result.latency.p50),
      p99: paired((r) => r.result.latency.p99),
      p999: paired((r) => r.result.latency.p999),
      httpP99: paired((r) => r.result.http.p99),
    },
    noisy: {
      share429: spread(floods.map((f) => (f.statuses["429"] ?? 0) / f.sent)),
      accepted: spread(floods.map((f) => (f.statuses["202"] ?? 0) / (f.wallMs / 1000))),
      other: floods.reduce(
        (a, f) =>
          a +
          f.httpErrors +
          Object.entries(f.statuses)
            .filter(([s]) => s !== "202" && s !== "429")
            .reduce((x, [, n]) => x + n, 0),
        0,
      ),
      delivered: floods.reduce((a, f) => a + f.delivered, 0),
      accepted202: floods.reduce((a, f) => a + (f.statuses["202"] ?? 0), 0),
      cpu: spread(floods.map((f) => f.cpu)),
    },
  };
}

function renderNeighbour(
  report: ReturnType<typeof summarizeNeighbour>,
  meta: {
    facts: ReturnType<typeof machineFacts>;
    settledLoad: number;
    elapsedS: number;
    floodRate: number;
    floodLimit: number;
  },
): string {
  const us = (s: Spread) => fmtSpread(s, fmtUs);
  const row = (name: string, s: ModeSummary) =>
    `| ${name} | ${s.runs} (${s.discarded}) | ${us(s.p50)} | ${us(s.p99)} | ${us(s.p999)} | ${us(s.max)} | ${us(s.httpP99)} | ${fmtSpread(s.delivered, (x) => x.toFixed(4))} | ${s.lost} | ${s.qNon2xx} | ${fmtSpread(s.serverCpu, fmtPct)} | ${fmtSpread(s.core0, fmtPct)} | ${fmtSpread(s.otherCpu, fmtPct)} | ${fmtSpread(s.generatorCore, fmtPct)} | ${fmtSpread(s.load, (x) => x.toFixed(2))} |`;
  return [
    `### Noisy neighbour (${meta.facts.date})`,
    "",
    `nproc ${meta.facts.nproc}, commit ${meta.facts.commit}${meta.facts.dirtyFiles ? ` + ${meta.facts.dirtyFiles} changed files` : ""}, load before start ${meta.settledLoad}; cluster of 2 nodes + 1 REST; Q (plan scale) at ${rate} msg/s to ${subsPerNode * 2} subscribers;` +
      ` N (plan free, ${meta.floodLimit} REST publishes/s) flooding at ${meta.floodRate}/s; ${runs} runs per mode (${measureMs / 1000} s measured after ${warmupMs / 1000} s warm-up); ${meta.elapsedS} s of measuring.`,
    "",
    "Q with flood ÷ Q alone, paired by repetition: median (range)",
    "",
    "| p50 | p99 | p99.9 | HTTP p99 |",
    "|---:|---:|---:|---:|",
    `| ${fmtSpread(report.ratios.p50, fmtRatio)} | ${fmtSpread(report.ratios.p99, fmtRatio)} | ${fmtSpread(report.ratios.p999, fmtRatio)} | ${fmtSpread(report.ratios.httpP99, fmtRatio)} |`,
    "",
    "| Q | runs (discarded) | p50 | p99 | p99.9 | max | HTTP p99 | delivered ÷ expected | lost | Q non-2xx | servers' CPU | core 0 busy | others' CPU | generator core (gen + flooder) | load1 |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    row("alone", report.alone),
    row("with flood", report.flood),
    "",
    `N: 429 share ${fmtSpread(report.noisy.share429, fmtPct)}; accepted ${fmtSpread(report.noisy.accepted, (x) => x.toFixed(0))}/s (limit ${meta.floodLimit}/s);` +
      ` other answers ${report.noisy.other}; N's subscribers got ${report.noisy.delivered} deliveries of ${report.noisy.accepted202} accepted × 2 subscribers; flooder CPU ${fmtSpread(report.noisy.cpu, fmtPct)}.`,
  ].join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
