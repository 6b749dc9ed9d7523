/**
 * What both benchmarks stand up, all on the server core (children inherit the
 * orchestrator's pinning): one Redis of our own, a Relaybase cluster (control plane on a
 * fresh database of the local Postgres, 2 realtime nodes, 1 REST instance, through
 * tests/cluster/fixtures.ts like the cluster tests), and optionally the B2 baseline's two
 * bare Socket.IO servers on the same Redis.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { freePort, type ServiceProcess, startRedis } from "../../scripts/cluster/processes.js";
import { startTestCluster, type TestCluster } from "../../tests/cluster/fixtures.js";
import { root, sleep } from "./rig.js";

export interface BenchCluster {
  redis: ServiceProcess;
  relaybase: TestCluster;
  /** The two B2 servers' urls (empty without B2). */
  b2: { url: string; process: ChildProcess }[];
  /** Process ids whose CPU is counted as each system's server side. */
  serverPids: { relaybase: Record<string, number | undefined>; b2: Record<string, number | undefined> };
  close(): Promise<void>;
}

async function waitForRedis(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (spawnSync("redis-cli", ["-u", url, "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") return;
    await sleep(100);
  }
  throw new Error(`redis at ${url} did not answer`);
}

async function startB2Node(redisUrl: string): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", `${root}bench/lib/b2-node.ts`], {
    cwd: root,
    env: { ...process.env, PORT: String(port), REDIS_URL: redisUrl, STREAM_NAME: "bench-b2" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr!.on("data", (c) => (output += c));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`b2 node exited:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`b2 node did not start:\n${output}`);
    await sleep(100);
  }
  return { url, process: child };
}

export async function startBenchCluster(options: { b2: boolean }): Promise<BenchCluster> {
  const redis = await startRedis();
  const started: { close(): Promise<void> }[] = [{ close: () => redis.stop("SIGKILL") }];
  const closeAll = async () => {
    for (const s of started.reverse()) await s.close().catch(() => {});
  };
  try {
    await waitForRedis(redis.url);
    const relaybase = await startTestCluster({
      sharedPostgres: true,
      redisUrl: redis.url,
      nodes: 2,
      restInstances: 1,
      logLevel: "warn",
    });
    started.push(relaybase);
    const b2: BenchCluster["b2"] = [];
    if (options.b2) {
      for (let i = 0; i < 2; i++) {
        const node = await startB2Node(redis.url);
        b2.push(node);
        started.push({
          close: async () => {
            if (node.process.exitCode !== null) return;
            const exited = new Promise((r) => node.process.once("exit", r));
            node.process.kill("SIGKILL");
            await exited;
          },
        });
      }
    }
    const { cluster } = relaybase;
    return {
      redis,
      relaybase,
      b2,
      serverPids: {
        relaybase: {
          "node-1": cluster.nodes[0]!.process.pid,
          "node-2": cluster.nodes[1]!.process.pid,
          rest: cluster.rest[0]!.process.pid,
          // On the same core; no hot-path request reaches it, but its timers (usage
          // flushes) share the core with the rest.
          "control-plane": cluster.controlPlane.process.pid,
          redis: redis.process.pid,
        },
        b2: Object.fromEntries([
          ...b2.map((n, i) => [`b2-${i + 1}`, n.process.pid]),
          ["redis", redis.process.pid],
        ]),
      },
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Closes `target` on SIGINT/SIGTERM, so an interrupted run leaves no process behind. */
export function closeOnInterrupt(target: { close(): Promise<void> }): void {
  const handler = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping the cluster`);
    target.close().finally(() => process.exit(130));
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}
