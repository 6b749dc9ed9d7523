/**
 * `npm run cluster`: a local distributed Relaybase — Redis (yours with REDIS_URL, else one
 * started here), the control plane (Postgres from DATABASE_URL, else PGlite in
 * .data/cluster), two realtime nodes behind a local balancer, one REST instance, each
 * service with a Prometheus `/metrics` on a free port of its own (printed).
 */
import { ensureConsoleBuilt } from "@relaybase/all-in-one";
import { startCluster } from "./cluster/processes.js";

// The control plane serves the console in every mode; build it as `npm start` does.
await ensureConsoleBuilt((line) => console.log(line));
const cluster = await startCluster({
  nodes: 2,
  restInstances: 1,
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : { dataDir: ".data/cluster" }),
  ports: { controlPlane: 4000, realtime: 4001, rest: 4002 },
  // For the console's snippets and test client: the balancer and the first REST instance.
  env: { REALTIME_PUBLIC_URL: "http://127.0.0.1:4001", REST_PUBLIC_URL: "http://127.0.0.1:4002" },
  logLevel: process.env.LOG_LEVEL ?? "info",
  metrics: true,
});
for (const s of [cluster.controlPlane, ...cluster.nodes, ...cluster.rest]) {
  s.process.stdout!.pipe(process.stdout);
  s.process.stderr!.pipe(process.stderr);
}
console.log(`
Relaybase cluster is running (Redis ${cluster.redisUrl}).

  Console + control plane  ${cluster.controlPlane.url}
  Realtime (Socket.IO)     ${cluster.balancer.url}   (balancer → ${cluster.nodes.map((n) => n.url).join(", ")})
  REST publish API         ${cluster.rest[0]!.url}
  Prometheus metrics       ${[cluster.controlPlane, ...cluster.nodes, ...cluster.rest].map((s) => s.metricsUrl).join(" ")}
`);
let closing = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    cluster.close().then(() => process.exit(0));
  });
}
