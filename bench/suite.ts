/**
 * `npm run bench`: the benchmark suite of issue 12, Relaybase (embedded, `startPlatform`)
 * against B0 (raw ws), B1 (bare Socket.IO 4.8) and, for the two-node path, B2 (bench/cluster.ts),
 * with the shared/BENCH.md rig: servers on core 0, the generator on core 1, open-loop
 * publishing, HDR histograms, repetitions alternating the order of the systems, the
 * generator's CPU checked, load average recorded. Prints every target as pass/fail, writes
 * bench/results/suite[-quick].json and the generated section of docs/benchmarks.md.
 *
 *   npm run bench                   # full: ~25 min of work
 *   npm run bench -- --quick        # ~2.5 min on a quiet machine: fewer points, one repetition
 *   options: --reps N  --out FILE  --no-doc  --no-cluster  --profile DIR (a CPU profile of Relaybase and B1 per path)
 *            --only rss,memory,handshake,fanout,rest,cluster (a subset; the doc is then not written)
 *            --before DIR (another checkout, with its node_modules, run as a fourth system: before/after ratios)
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { type EmbeddedRss, embeddedRss } from "./lib/embedded-rss.js";
import { startLoadWorker } from "./lib/load-client.js";
import { load1, machineFacts, parseArgs, pinSelf, root, SERVER_CORE } from "./lib/rig.js";
import { type BenchServer, type SuiteSystem, startServer } from "./lib/servers.js";
import { suiteConfig } from "./lib/suite-config.js";
import { renderSuite, type SuiteReport, suiteTargets } from "./lib/suite-report.js";
import {
  type FanoutRun,
  type HandshakeRun,
  type MemoryResult,
  measureFanout,
  measureHandshakes,
  measureMemory,
  measureRest,
  orderFor,
  type RestRun,
  warmUpServer,
} from "./lib/suite-steps.js";

const args = parseArgs(process.argv.slice(2));
const quick = args.quick === "true";
const log = (...m: unknown[]) => console.error(...m);

const config = suiteConfig(quick, args.reps === undefined ? undefined : Number(args.reps));
const beforeRoot = args.before ? `${resolve(args.before)}/` : undefined;
const systems: SuiteSystem[] = beforeRoot ? ["relaybase", "b1", "b0", "before"] : ["relaybase", "b1", "b0"];
const out = resolve(root, args.out ?? `bench/results/suite${quick ? "-quick" : ""}.json`);
const profileDir = args.profile ? resolve(root, args.profile) : undefined;
const only = args.only ? new Set(args.only.split(",")) : undefined;
const wanted = (path: string) => !only || only.has(path);

/** bench/cluster.ts as it is, in its own process (it pins itself to the server core). */
async function runCluster(): Promise<unknown> {
  const file = resolve(root, `bench/results/suite-cluster${quick ? "-quick" : ""}.json`);
  const clusterArgs = quick
    ? ["--rates", "300", "--runs", "1", "--warmup", "1000", "--measure", "2500", "--drain", "1500"]
    : ["--rates", "500", "--runs", String(config.reps), "--measure", "6000"];
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      `${root}bench/cluster.ts`,
      ...clusterArgs,
      "--wait-load",
      "0",
      "--max-load",
      "100",
      "--out",
      file,
    ],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`bench/cluster.ts exited ${code}`);
  return JSON.parse(readFileSync(file, "utf8"));
}

async function main() {
  const started = Date.now();
  const pinned = pinSelf(SERVER_CORE);
  const facts = machineFacts();
  const loads: { at: string; load1: number }[] = [{ at: "start", load1: load1() }];
  const noteLoad = (at: string) => loads.push({ at, load1: load1() });
  log(`machine: ${JSON.stringify(facts)}; pinned: ${pinned}; ${quick ? "quick" : "full"} run`);

  log("embedded process baseline RSS…");
  const rss: EmbeddedRss[] = wanted("rss") ? await embeddedRss(quick ? 1500 : 5000) : [];
  log(`  ${rss.map((r) => `${r.mode} ${r.rssMiB} MiB`).join(", ")}`);
  noteLoad("after embedded RSS");

  const worker = await startLoadWorker(pinned);
  const servers = {} as Record<SuiteSystem, BenchServer>;
  const stopAll = async () => {
    await worker.stop();
    for (const s of Object.values(servers)) await s.stop().catch(() => {});
  };
  process.once("SIGINT", () => void stopAll().finally(() => process.exit(130)));
  try {
    for (const s of systems)
      servers[s] = await startServer(s, s === "before" && beforeRoot ? { root: beforeRoot } : {});
    /** With --profile: one CPU profile per path of Relaybase and B1. */
    const profiled = async <T>(path: string, run: () => Promise<T>): Promise<T> => {
      if (!profileDir) return run();
      mkdirSync(profileDir, { recursive: true });
      for (const s of ["relaybase", "b1"] as const) await servers[s].profile(false);
      const result = await run();
      for (const s of ["relaybase", "b1"] as const) {
        await servers[s].profile(
          true,
          resolve(profileDir, `${s}-${path}${quick ? "-quick" : ""}.cpuprofile`),
        );
      }
      return result;
    };
    log(`servers up (${Math.round((Date.now() - started) / 1000)} s)`);

    const memory: MemoryResult[] = [];
    if (wanted("memory"))
      for (const s of systems) memory.push(await measureMemory(worker, servers[s], config));
    noteLoad("after memory");

    if (["handshake", "fanout", "rest"].some(wanted)) {
      log("warming up each server's hot paths…");
      for (const s of systems) await warmUpServer(worker, servers[s], config);
      noteLoad("after warm-up");
    }

    const handshakes: HandshakeRun[] = [];
    await profiled("handshake", async () => {
      for (let rep = 0; rep < (wanted("handshake") ? config.reps : 0); rep++) {
        for (const s of orderFor(rep, systems))
          handshakes.push(await measureHandshakes(worker, servers[s], config, rep));
      }
    });
    noteLoad("after handshakes");

    const fanout: FanoutRun[] = [];
    for (const point of wanted("fanout") ? config.fanout.points : []) {
      await profiled(`fanout-${point.rooms}x${point.perRoom}`, async () => {
        for (let rep = 0; rep < config.reps; rep++) {
          for (const s of orderFor(rep, systems))
            fanout.push(await measureFanout(worker, servers[s], config, point, rep));
        }
      });
      noteLoad(`after fan-out ${point.rooms}x${point.perRoom}@${point.payload}`);
    }

    const rest: RestRun[] = [];
    await profiled("rest", async () => {
      for (let rep = 0; rep < (wanted("rest") ? config.reps : 0); rep++) {
        for (const s of orderFor(rep, systems)) rest.push(await measureRest(worker, servers[s], config, rep));
      }
    });
    noteLoad("after REST");
    await stopAll();

    let cluster: unknown;
    if (args["no-cluster"] !== "true" && wanted("cluster")) {
      log("REST → delivery across two nodes (bench/cluster.ts)…");
      cluster = await runCluster();
      noteLoad("after cluster");
    }

    const report: SuiteReport = {
      benchmark: "suite",
      quick,
      facts,
      loads,
      elapsedS: Math.round((Date.now() - started) / 1000),
      config,
      rss,
      memory,
      handshakes,
      fanout,
      rest,
      cluster,
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    };
    const targets = suiteTargets(report);
    for (const t of targets) console.log(`${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.measured}`);
    const md = renderSuite(report, targets);
    console.log(md);
    const { writeResults } = await import("./lib/rig.js");
    writeResults(out, { ...report, targets });
    log(`results written to ${out} (${report.elapsedS} s)`);
    if (args["no-doc"] !== "true" && !only) {
      const doc = resolve(root, "docs/benchmarks.md");
      const text = readFileSync(doc, "utf8");
      const start = `<!-- bench:suite${quick ? ":quick" : ""}:start -->`;
      const end = `<!-- bench:suite${quick ? ":quick" : ""}:end -->`;
      const i = text.indexOf(start);
      const j = text.indexOf(end);
      if (i >= 0 && j > i) {
        writeFileSync(doc, `${text.slice(0, i + start.length)}\n${md}\n${text.slice(j)}`);
        log(`docs/benchmarks.md: section between ${start} and ${end} rewritten`);
      } else log(`docs/benchmarks.md has no ${start} … ${end} section; not written`);
    }
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
