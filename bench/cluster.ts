/**
 * Benchmark: REST publish → delivery across two nodes (BENCH.md metric 4), Relaybase
 * against baseline B2 in the same run.
 *
 * Relaybase: 2 realtime nodes + 1 REST instance + the control plane + Redis (separate
 * processes, core 0, all counted as its servers' CPU);
 * subscribers connect straight to each node (half on each), the generator (core 1) POSTs
 * to the REST API open loop. B2: two bare Socket.IO servers with the streams adapter on
 * the same Redis (core 0), the generator POSTs to a minimal HTTP endpoint on the first.
 * Each repetition runs every rate on both systems, alternating which goes first.
 *
 *   npm run bench:cluster -- [--rates 100,500,1000] [--runs 5] [--measure 8000] [--warmup 2000]
 *     [--subs-per-node 2] [--payload 100] [--max-load 1.0] [--wait-load 600] [--out bench/results/cluster.json]
 */
import { resolve } from "node:path";
import { type PointRun, runPoint } from "./lib/point.js";
import {
  cpuWindow,
  load1,
  machineFacts,
  parseArgs,
  pinSelf,
  root,
  SERVER_CORE,
  sleep,
  waitForQuiet,
  writeResults,
} from "./lib/rig.js";
import { closeOnInterrupt, startBenchCluster } from "./lib/setup.js";
import { fmtPct, fmtRatio, fmtSpread, fmtUs, type Spread, spread } from "./lib/stats.js";
import type { GeneratorConfig, SystemId } from "./lib/types.js";

const args = parseArgs(process.argv.slice(2));
const rates = (args.rates ?? "100,500,1000").split(",").map(Number);
const runs = Number(args.runs ?? 5);
const warmupMs = Number(args.warmup ?? 2000);
const measureMs = Number(args.measure ?? 8000);
const drainMs = Number(args.drain ?? 3000);
const subsPerNode = Number(args["subs-per-node"] ?? 2);
const payloadBytes = Number(args.payload ?? 100);
const maxLoad = Number(args["max-load"] ?? 1.0);
const waitLoadS = Number(args["wait-load"] ?? 600);
const maxGeneratorCpu = Number(args["max-generator-cpu"] ?? 0.75);
const out = resolve(root, args.out ?? "bench/results/cluster.json");
const systems: SystemId[] = ["relaybase", "b2"];
const log = (...m: unknown[]) => console.error(...m);

async function main() {
  const pinned = pinSelf(SERVER_CORE);
  const facts = machineFacts();
  log(`machine: ${JSON.stringify(facts)}; orchestrator pinned to core ${SERVER_CORE}: ${pinned}`);
  const settledLoad = await waitForQuiet(maxLoad, waitLoadS * 1000, log);

  log("starting Redis, the Relaybase cluster (2 nodes, 1 REST) and B2 (2 nodes)…");
  const bench = await startBenchCluster({ b2: true });
  closeOnInterrupt(bench);
  try {
    const dev = await bench.relaybase.developer({ plan: "scale" });
    const { cluster } = bench.relaybase;
    const room = "public:bench";
    const nodes = {
      relaybase: cluster.nodes.map((n) => n.url),
      b2: bench.b2.map((n) => n.url),
    };
    const configFor = (
      system: SystemId,
      rate: number,
      overrides: Partial<GeneratorConfig> = {},
    ): GeneratorConfig => ({
      system,
      label: `${system}@${rate}`,
      subscribers: nodes[system].flatMap((url, node) =>
        Array.from({ length: subsPerNode }, () => ({
          url,
          node,
          ...(system === "relaybase" ? { auth: { key: dev.publishableKey } } : {}),
        })),
      ),
      room,
      publishUrl:
        system === "relaybase"
          ? `${cluster.rest[0]!.url}/v1/apps/${dev.appId}/publish`
          : `${bench.b2[0]!.url}/publish`,
      headers: system === "relaybase" ? { authorization: `Bearer ${dev.secret}` } : {},
      rate,
      warmupMs,
      measureMs,
      drainMs,
      payloadBytes,
      ...overrides,
    });

    const point = (system: SystemId, rate: number, rep: number, cfg = configFor(system, rate)) =>
      runPoint(cfg, rep, { serverPids: bench.serverPids[system], maxGeneratorCpu, log });

    // What the servers burn with no traffic (timers, leases, blocked XREADs), to read the
    // CPU-per-message figures against.
    const idleWindow = cpuWindow({ ...bench.serverPids.relaybase, ...bench.serverPids.b2 });
    await sleep(3000);
    const idleCpu = idleWindow();
    const idleShare = (names: string[]) =>
      names.reduce((a, n) => a + (idleCpu.processes[n] ?? 0), 0) / idleCpu.wallMs;
    const idle = {
      relaybase: idleShare(Object.keys(bench.serverPids.relaybase)),
      b2: idleShare(Object.keys(bench.serverPids.b2)),
      cores: idleCpu.cores,
    };
    log(
      `idle: relaybase servers ${fmtPct(idle.relaybase)}, B2 servers ${fmtPct(idle.b2)}, cores ${idle.cores.map(fmtPct).join("/")}`,
    );

    log("warm-up (discarded)…");
    for (const system of systems) {
      await point(system, rates[Math.floor(rates.length / 2)]!, 0, {
        ...configFor(system, rates[Math.floor(rates.length / 2)]!),
        warmupMs: 3000,
        measureMs: 2000,
      });
    }

    const points: Record<string, PointRun[]> = {};
    const started = Date.now();
    for (let rep = 1; rep <= runs; rep++) {
      log(`repetition ${rep}/${runs} (load ${load1()})`);
      for (const rate of rates) {
        const order = rep % 2 ? systems : [...systems].reverse();
        for (const system of order) {
          const p = await point(system, rate, rep);
          const key = `${system}@${rate}`;
          points[key] = [...(points[key] ?? []), p];
        }
      }
    }
    const elapsedS = Math.round((Date.now() - started) / 1000);

    const report = summarizeCluster(points);
    const md = renderCluster(report, { facts, settledLoad, elapsedS, idle });
    console.log(md);
    writeResults(out, {
      benchmark: "cluster",
      facts,
      settledLoad,
      elapsedS,
      idle,
      options: { rates, runs, warmupMs, measureMs, drainMs, subsPerNode, payloadBytes, maxGeneratorCpu },
      report,
      points,
    });
    log(`results written to ${out}`);
  } finally {
    await bench.close();
  }
}

interface SystemSummary {
  runs: number;
  discarded: number;
  p50: Spread;
  p99: Spread;
  p999: Spread;
  max: Spread;
  httpP99: Spread;
  delivered: Spread;
  lost: number;
  duplicates: number;
  seqReorders: number;
  offsetGaps: number | null;
  offsetReorders: number | null;
  non2xx: number;
  generatorCpu: Spread;
  serverCpu: Spread;
  serverUsPerMessage: Spread;
  core0: Spread;
  otherCpu: Spread;
  load: Spread;
  p99ByNode: Spread[];
}

interface RateSummary {
  rate: number;
  relaybase: SystemSummary;
  b2: SystemSummary;
  /** relaybase ÷ b2, paired by repetition (both runs valid). */
  ratios: { p50: Spread; p99: Spread; p999: Spread; httpP99: Spread; serverUsPerMessage: Spread };
}

function summarizeSystem(all: PointRun[]): SystemSummary {
  const v = all.filter((p) => p.valid);
  const sum = (f: (p: PointRun) => number) => v.reduce((a, p) => a + f(p), 0);
  const nodeCount = v[0]?.result.latencyByNode.length ?? 0;
  return {
    runs: v.length,
    discarded: all.length - v.length,
    p50: spread(v.map((p) => p.result.latency.p50)),
    p99: spread(v.map((p) => p.result.latency.p99)),
    p999: spread(v.map((p) => p.result.latency.p999)),
    max: spread(v.map((p) => p.result.latency.max)),
    httpP99: spread(v.map((p) => p.result.http.p99)),
    delivered: spread(v.map((p) => p.result.delivered / p.result.expected)),
    lost: sum((p) => p.result.expected - p.result.delivered),
    duplicates: sum((p) => p.result.duplicates),
    seqReorders: sum((p) => p.result.seqReorders),
    offsetGaps: v.some((p) => p.result.offsetGaps !== null) ? sum((p) => p.result.offsetGaps ?? 0) : null,
    offsetReorders: v.some((p) => p.result.offsetReorders !== null)
      ? sum((p) => p.result.offsetReorders ?? 0)
      : null,
    non2xx: sum(
      (p) =>
        Object.entries(p.result.statuses)
          .filter(([s]) => !s.startsWith("2"))
          .reduce((a, [, n]) => a + n, 0) + p.result.httpErrors,
    ),
    generatorCpu: spread(all.map((p) => p.result.generatorCpu)),
    serverCpu: spread(v.map((p) => p.serverCpu)),
    serverUsPerMessage: spread(v.map((p) => p.serverUsPerMessage)),
    core0: spread(v.map((p) => p.window.cores[0] ?? NaN)),
    otherCpu: spread(all.map((p) => p.otherCpu)),
    load: spread(all.map((p) => p.loadBefore)),
    p99ByNode: Array.from({ length: nodeCount }, (_, i) =>
      spread(v.map((p) => p.result.latencyByNode[i]?.p99 ?? NaN)),
    ),
  };
}

function pairedRatios(a: PointRun[], b: PointRun[], f: (p: PointRun) => number): Spread {
  const ratios: number[] = [];
  for (const pa of a) {
    const pb = b.find((x) => x.rep === pa.rep);
    if (pa.valid && pb?.valid) ratios.push(f(pa) / f(pb));
  }
  return spread(ratios);
}

function summarizeCluster(points: Record<string, PointRun[]>): RateSummary[] {
  return rates.map((rate) => {
    const r = points[`relaybase@${rate}`] ?? [];
    const b = points[`b2@${rate}`] ?? [];
    return {
      rate,
      relaybase: summarizeSystem(r),
      b2: summarizeSystem(b),
      ratios: {
        p50: pairedRatios(r, b, (p) => p.result.latency.p50),
        p99: pairedRatios(r, b, (p) => p.result.latency.p99),
        p999: pairedRatios(r, b, (p) => p.result.latency.p999),
        httpP99: pairedRatios(r, b, (p) => p.result.http.p99),
        serverUsPerMessage: pairedRatios(r, b, (p) => p.serverUsPerMessage),
      },
    };
  });
}

function renderCluster(
  report: RateSummary[],
  meta: {
    facts: ReturnType<typeof machineFacts>;
    settledLoad: number;
    elapsedS: number;
    idle: { relaybase: number; b2: number; cores: number[] };
  },
): string {
  const us = (s: Spread) => fmtSpread(s, fmtUs);
  const lines = [
    `### REST publish → delivery across two nodes (${meta.facts.date})`,
    "",
    `nproc ${meta.facts.nproc} (${meta.facts.cpu}), ${meta.facts.node}, ${meta.facts.redis.split(" ").slice(0, 3).join(" ")}; commit ${meta.facts.commit}${meta.facts.dirtyFiles ? ` + ${meta.facts.dirtyFiles} changed files` : ""};` +
      ` load before start ${meta.settledLoad}; ${runs} runs per point (${measureMs / 1000} s measured after ${warmupMs / 1000} s warm-up), ` +
      `${subsPerNode * 2} subscribers (${subsPerNode} per node), ~${payloadBytes} B data; ${meta.elapsedS} s of measuring. ` +
      `Idle servers' CPU (no traffic, 3 s): relaybase ${fmtPct(meta.idle.relaybase)}, B2 ${fmtPct(meta.idle.b2)}; cores busy then ${meta.idle.cores.map(fmtPct).join(" / ")}.`,
    "",
    "Ratios relaybase ÷ B2, paired by repetition: median (range)",
    "",
    "| rate msg/s | p50 | p99 | p99.9 | HTTP p99 | server CPU per message |",
    "|---:|---:|---:|---:|---:|---:|",
    ...report.map(
      (r) =>
        `| ${r.rate} | ${fmtSpread(r.ratios.p50, fmtRatio)} | ${fmtSpread(r.ratios.p99, fmtRatio)} | ${fmtSpread(r.ratios.p999, fmtRatio)} | ${fmtSpread(r.ratios.httpP99, fmtRatio)} | ${fmtSpread(r.ratios.serverUsPerMessage, fmtRatio)} |`,
    ),
    "",
    "Absolute: median (range) over valid runs",
    "",
    "| system | rate | runs (discarded) | p50 | p99 | p99.9 | max | HTTP p99 | delivered ÷ expected | lost / dup / seq reorder / offset gaps / offset reorder | non-2xx | servers' CPU | µs CPU per msg | core 0 busy | others' CPU | generator CPU | load1 |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of report) {
    for (const system of systems) {
      const s = r[system];
      lines.push(
        `| ${system} | ${r.rate} | ${s.runs} (${s.discarded}) | ${us(s.p50)} | ${us(s.p99)} | ${us(s.p999)} | ${us(s.max)} | ${us(s.httpP99)} | ${fmtSpread(s.delivered, (x) => x.toFixed(4))} | ${s.lost} / ${s.duplicates} / ${s.seqReorders} / ${s.offsetGaps ?? "–"} / ${s.offsetReorders ?? "–"} | ${s.non2xx} | ${fmtSpread(s.serverCpu, fmtPct)} | ${fmtSpread(s.serverUsPerMessage, (x) => x.toFixed(0))} | ${fmtSpread(s.core0, fmtPct)} | ${fmtSpread(s.otherCpu, fmtPct)} | ${fmtSpread(s.generatorCpu, fmtPct)} | ${fmtSpread(s.load, (x) => x.toFixed(2))} |`,
      );
    }
  }
  lines.push(
    "",
    "p99 by node (median over runs): " +
      report
        .map(
          (r) =>
            `${r.rate}/s relaybase ${r.relaybase.p99ByNode.map((s) => fmtUs(s.median)).join(" / ")}, B2 ${r.b2.p99ByNode.map((s) => fmtUs(s.median)).join(" / ")}`,
        )
        .join("; "),
  );
  return lines.join("\n");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
