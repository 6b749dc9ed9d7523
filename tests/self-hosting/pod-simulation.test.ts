/**
 * The chart's pods, simulated on this machine: the Deployments and the migrations Job
 * rendered by the real helm, each container's command run as a local process from the
 * repository (the image's WORKDIR mirrors it) with exactly the environment the chart
 * gives it — ConfigMap values and Secret keys substituted, Service DNS names mapped to
 * 127.0.0.1 ports, PORT set to a free port — against a Redis of its own and a new
 * database on the local Postgres. The install is the small one (ci/small-values.yaml),
 * with its credentials in a Secret made by the command docs/self-hosting.md gives
 * (`kubectl create secret generic … --dry-run=client`, the real kubectl). The Job runs
 * first, as the hook does; then a developer signs up, a client connects through a node,
 * and a REST publish reaches it.
 *
 * What this cannot show: image builds, the read-only root filesystem, probes and
 * signals as the kubelet sends them, the ingress (no cluster here).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createClient, type RelaybaseClient } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, type ServiceProcess, startRedis } from "../../scripts/cluster/processes.js";
import { createDatabase, type TestDatabase } from "../cluster/fixtures.js";
import { signUpDeveloper, until } from "../fixtures.js";
import { buildBundles } from "./bundles.js";
import { containerEnv, find, type K8sObject, RELEASE, render, valuesArgs } from "./chart.js";
import { k8sTools, repoRoot } from "./k8s-tools.js";

/** The runtime stage's ENV in the Dockerfile, which every container starts with. */
const IMAGE_ENV = { NODE_ENV: "production", NODE_OPTIONS: "--enable-source-maps" };

interface Pod {
  component: string;
  url: string;
  /** Where its METRICS_PORT listens (the chart's port `metrics`, moved to a free port here). */
  metricsUrl: string;
  child: ChildProcess;
  output: () => string;
}

let redis: ServiceProcess;
let db: TestDatabase;
let objects: K8sObject[];
/** The operator's Secret, as `kubectl create secret generic --dry-run=client -o json` makes it. */
let credentials: K8sObject;
const OPERATOR_TOKEN = "operator-token-of-the-pod-simulation-0123456789";
const pods: Pod[] = [];
const clients: RelaybaseClient[] = [];
/** Service DNS name with port → the local address of the process behind it. */
const addresses = new Map<string, string>();

/** A container's environment with Secret keys read from the rendered Secrets and DNS names mapped. */
function environmentOf(workload: K8sObject, port?: number, metricsPort?: number): Record<string, string> {
  const env = containerEnv(objects, workload);
  const values: Record<string, string> = { ...env.values };
  for (const [name, ref] of Object.entries(env.fromSecrets)) {
    const secret =
      ref.secret === credentials.metadata.name ? credentials : find(objects, "Secret", ref.secret);
    const data = secret.data?.[ref.key];
    if (data === undefined) throw new Error(`${ref.secret} has no key ${ref.key}`);
    values[name] = Buffer.from(data, "base64").toString();
  }
  for (const [name, value] of Object.entries(values)) {
    let mapped = value;
    for (const [service, local] of addresses) mapped = mapped.replaceAll(service, local);
    values[name] = mapped;
  }
  if (port !== undefined) values.PORT = String(port);
  if (metricsPort !== undefined) values.METRICS_PORT = String(metricsPort);
  return { PATH: process.env.PATH ?? "", ...IMAGE_ENV, ...values };
}

function run(component: string, workload: K8sObject, port?: number, metricsPort?: number): Pod {
  const [command, ...args] = workload.spec.template.spec.containers[0].command as string[];
  let output = "";
  const child = spawn(command as string, args, {
    cwd: repoRoot,
    env: environmentOf(workload, port, metricsPort),
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  return {
    component,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    child,
    output: () => output,
  };
}

async function readyz(pod: Pod): Promise<number> {
  let status = 0;
  await until(
    async () => {
      if (pod.child.exitCode !== null) return true;
      status = await fetch(`${pod.url}/readyz`).then(
        (res) => res.status,
        () => 0, // not listening yet
      );
      return status >= 200 && status < 300;
    },
    `${pod.component} to be ready`,
    { timeoutMs: 50_000, detail: () => pod.output() },
  );
  if (pod.child.exitCode !== null) throw new Error(`${pod.component} exited:\n${pod.output()}`);
  return status;
}

const pod = (component: string) => {
  const found = pods.find((p) => p.component === component);
  if (!found) throw new Error(`no pod ${component}`);
  return found;
};

beforeAll(async () => {
  [redis, db] = await Promise.all([startRedis(), createDatabase(), buildBundles()]).then(
    ([r, d]) => [r, d] as const,
  );
  credentials = JSON.parse(
    execFileSync(
      k8sTools().kubectl,
      [
        ...["create", "secret", "generic", "relaybase-credentials", "--namespace", "relaybase"],
        `--from-literal=DATABASE_URL=${db.url}`,
        `--from-literal=REDIS_URL=${redis.url}`,
        `--from-literal=OPERATOR_TOKEN=${OPERATOR_TOKEN}`,
        ...["--dry-run=client", "--output=json"],
      ],
      { encoding: "utf8" },
    ),
  );
  objects = render([...valuesArgs("small-values.yaml"), "--set", "controlPlane.operatorApi.enabled=true"]);
  const components = ["control-plane", "realtime-node", "rest-api"];
  const ports: Record<string, number> = {};
  for (const component of components) {
    ports[component] = await freePort();
    const service = find(objects, "Service", `${RELEASE}-relaybase-${component}`);
    addresses.set(
      `http://${service.metadata.name}:${service.spec.ports[0].port}`,
      `http://127.0.0.1:${ports[component]}`,
    );
  }

  const job = objects.find((o) => o.kind === "Job") as K8sObject;
  const migrate = run("migrations", job);
  const exitCode = await new Promise<number | null>((r) => migrate.child.once("exit", r));
  if (exitCode !== 0) throw new Error(`the migrations Job failed:\n${migrate.output()}`);

  for (const component of components) {
    const deployment = find(objects, "Deployment", `${RELEASE}-relaybase-${component}`);
    pods.push(run(component, deployment, ports[component], await freePort()));
  }
}, 120_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(
    pods.map(async (p) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const exited = new Promise((r) => p.child.once("exit", r));
      p.child.kill("SIGTERM");
      await exited;
    }),
  );
  await redis?.stop();
  await db?.drop();
}, 60_000);

describe("the chart's pods, run as processes with the chart's environment", () => {
  it("the migrations Job brought the new database's schema up to date before any pod started", async () => {
    const { rows } = await db.query(
      "select count(*)::int as n from information_schema.tables where table_name = 'apps'",
    );
    expect(rows[0].n).toBe(1);
  });

  it("every pod answers /readyz with 200", async () => {
    for (const p of pods) expect(await readyz(p), p.component).toBe(200);
  });

  it("a developer signs up, a client connects through a node, and a REST publish reaches it", async () => {
    for (const p of pods) await readyz(p);
    const { publishableKey, server } = await signUpDeveloper(
      { controlPlane: pod("control-plane").url, rest: pod("rest-api").url },
      { name: "from the chart" },
    );
    const { token } = await server.createToken({
      userId: "alice",
      capabilities: { "chat:*": ["subscribe"] },
    });
    const client = createClient({
      key: publishableKey,
      url: pod("realtime-node").url,
      getToken: async () => token,
    });
    clients.push(client);
    const room = client.room("chat:lobby");
    const received = new Promise<unknown>((resolve) => room.on("greeting", resolve));
    await room.subscribe();
    await server.publish({ room: "chat:lobby", event: "greeting", data: { text: "hello from helm" } });
    expect(await received).toEqual({ text: "hello from helm" });
  });

  it("the operator API answers with the token the chart generated, and refuses without it", async () => {
    const token = environmentOf(
      find(objects, "Deployment", `${RELEASE}-relaybase-control-plane`),
    ).OPERATOR_TOKEN;
    const url = `${pod("control-plane").url}/operator/v1/apps/app_doesnotexist/limits`;
    const refused = await fetch(url);
    expect([401, 403]).toContain(refused.status);
    const answered = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(answered.status).toBe(404);
  });

  it("every pod serves /metrics on its METRICS_PORT, where the ServiceMonitor scrapes it, and not on its service port", async () => {
    const path = render([...valuesArgs("large-values.yaml")]).find(
      (o) => o.kind === "ServiceMonitor" && o.metadata.name === `${RELEASE}-relaybase-control-plane`,
    )?.spec.endpoints[0].path;
    const series: Record<string, string> = {
      "control-plane": "relaybase_usage_rollups_total",
      "realtime-node": "relaybase_adapter_stream_lag_entries",
      "rest-api": "relaybase_rest_request_duration_seconds",
    };
    for (const p of pods) {
      const res = await fetch(`${p.metricsUrl}${path}`);
      expect(res.status, p.component).toBe(200);
      const text = await res.text();
      expect(text, p.component).toContain(series[p.component]);
      expect(text, p.component).toContain("nodejs_eventloop_lag_seconds");
      expect((await fetch(`${p.url}${path}`)).status, `${p.component}: service port`).toBe(404);
    }
  });

  it("a node leaves within its grace period when Kubernetes stops it", async () => {
    const node = pod("realtime-node");
    const grace = find(objects, "Deployment", `${RELEASE}-relaybase-realtime-node`).spec.template.spec
      .terminationGracePeriodSeconds as number;
    const exited = new Promise<number | null>((r) => node.child.once("exit", (code) => r(code)));
    const killer = setTimeout(() => node.child.kill("SIGKILL"), grace * 1000);
    node.child.kill("SIGTERM");
    const code = await exited;
    clearTimeout(killer);
    expect(code, "exit 0 after the drain, not SIGKILL at the end of the grace period").toBe(0);
  }, 60_000);
});
