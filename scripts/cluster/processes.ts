import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Balancer, startBalancer } from "./balancer.js";

/**
 * Starts a local distributed Relaybase as separate processes: Redis (unless REDIS_URL is
 * given), the control plane, N realtime nodes behind a balancer, and M REST instances.
 * Used by `npm run cluster` and by the cluster tests, which kill and restart parts of it.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
// Services run as `node --import tsx <entry>`, not through the `tsx` command: that one is a
// wrapper that forks node, so a SIGKILL (which it cannot relay) would kill only the
// wrapper and leave the real service running, orphaned, still serving its port.
const nodeWithTsx = [process.execPath, "--import", "tsx"] as const;

export interface ServiceProcess {
  name: string;
  url: string;
  /** `GET /metrics` of the service, when the cluster was started with `metrics: true`. */
  metricsUrl?: string;
  process: ChildProcess;
  /** Sends a signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Output so far (for failure messages). */
  output(): string;
}

export interface ClusterOptions {
  nodes?: number;
  restInstances?: number;
  redisUrl?: string;
  databaseUrl?: string;
  dataDir?: string;
  /** Extra environment for every service (e.g. SHUTDOWN_DEADLINE_MS). */
  env?: Record<string, string>;
  /** Fixed ports instead of free ones: control plane, balancer, REST (first), nodes from balancer+100. */
  ports?: { controlPlane: number; realtime: number; rest: number };
  logLevel?: string;
  /** Give every service a METRICS_PORT of its own (a free port). */
  metrics?: boolean;
}

export interface Cluster {
  redisUrl: string;
  controlPlane: ServiceProcess;
  nodes: ServiceProcess[];
  rest: ServiceProcess[];
  balancer: Balancer;
  /** Starts another realtime node (e.g. to replace a killed one). */
  addNode(): Promise<ServiceProcess>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export async function startRedis(port?: number): Promise<ServiceProcess> {
  const p = port ?? (await freePort());
  return startProcess("redis", `redis://127.0.0.1:${p}`, "redis-server", [
    "--port",
    String(p),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const redis = options.redisUrl ? undefined : await startRedis();
  const redisUrl = options.redisUrl ?? redis!.url;
  // Everything started so far, so that a failed start leaves no process behind.
  const started: ServiceProcess[] = redis ? [redis] : [];
  try {
    return await startServices(options, redisUrl, redis, started);
  } catch (err) {
    await Promise.all(started.map((s) => s.stop("SIGKILL")));
    throw err;
  }
}

async function startServices(
  options: ClusterOptions,
  redisUrl: string,
  redis: ServiceProcess | undefined,
  started: ServiceProcess[],
): Promise<Cluster> {
  const cpPort = options.ports?.controlPlane ?? (await freePort());
  const cpUrl = `http://127.0.0.1:${cpPort}`;
  const common = {
    REDIS_URL: redisUrl,
    LOG_LEVEL: options.logLevel ?? "warn",
    TOKEN_ISSUER: cpUrl,
    PUBLIC_URL: cpUrl,
    ...options.env,
  };
  const controlPlane = await startService(
    "control-plane",
    "services/control-plane/src/main.ts",
    cpPort,
    {
      ...common,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
      ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}),
    },
    started,
    options.metrics,
  );

  let nodePort = options.ports ? options.ports.realtime + 100 : 0;
  const nodes: ServiceProcess[] = [];
  const addNode = async () => {
    const port = nodePort ? nodePort++ : await freePort();
    const node = await startService(
      `realtime-node-${nodes.length + 1}`,
      "services/realtime-node/src/main.ts",
      port,
      common,
      started,
      options.metrics,
    );
    nodes.push(node);
    return node;
  };
  for (let i = 0; i < (options.nodes ?? 2); i++) await addNode();

  const rest: ServiceProcess[] = [];
  for (let i = 0; i < (options.restInstances ?? 1); i++) {
    const port = options.ports && i === 0 ? options.ports.rest : await freePort();
    rest.push(
      await startService(
        `rest-publish-api-${i + 1}`,
        "services/rest-publish-api/src/main.ts",
        port,
        common,
        started,
        options.metrics,
      ),
    );
  }
  // Only live nodes: a killed one's port is skipped.
  const balancer = await startBalancer(
    () => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null).map((n) => n.url),
    options.ports?.realtime ?? 0,
  );

  return {
    redisUrl,
    controlPlane,
    nodes,
    rest,
    balancer,
    addNode,
    async close() {
      await balancer.close();
      await Promise.all([...nodes, ...rest].map((s) => s.stop("SIGKILL")));
      await controlPlane.stop("SIGKILL");
      await redis?.stop("SIGKILL");
    },
  };
}

async function startService(
  name: string,
  entry: string,
  port: number,
  env: Record<string, string>,
  started: ServiceProcess[],
  metrics = false,
) {
  const url = `http://127.0.0.1:${port}`;
  const metricsPort = metrics ? await freePort() : undefined;
  const [node, ...loader] = nodeWithTsx;
  const service = startProcess(name, url, node, [...loader, `${root}${entry}`], {
    ...env,
    PORT: String(port),
    HOST: "127.0.0.1",
    ...(metricsPort === undefined ? {} : { METRICS_PORT: String(metricsPort) }),
  });
  if (metricsPort !== undefined) service.metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  started.push(service);
  await waitForReady(service);
  return service;
}

function startProcess(
  name: string,
  url: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
): ServiceProcess {
  let output = "";
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  return {
    name,
    url,
    process: child,
    output: () => output,
    stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill(signal);
      return exited;
    },
  };
}

async function waitForReady(service: ServiceProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (service.process.exitCode !== null) throw new Error(`${service.name} exited:\n${service.output()}`);
    try {
      if ((await fetch(`${service.url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${service.name} did not become ready:\n${service.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
