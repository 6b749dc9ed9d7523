/**
 * Cluster test fixtures: a real distributed Relaybase started as separate processes
 * (scripts/cluster: Redis, control plane, realtime nodes behind a TCP balancer, REST
 * instances), a developer who signs up through the console API, many SDK clients, a
 * publisher of numbered messages over REST, and a per-client ledger that tells what a
 * user would see: missing, duplicated or reordered messages.
 */
import { spawnSync } from "node:child_process";
import { chownSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientOptions,
  type ConnectionState,
  createClient,
  type GapInfo,
  type RelaybaseClient,
  type ResumeInfo,
} from "@relaybase/sdk";
import { createServerClient, type ServerClient } from "@relaybase/sdk/server";
import pg from "pg";
import {
  type Cluster,
  type ClusterOptions,
  freePort,
  startCluster,
} from "../../scripts/cluster/processes.js";
import { poll, signUpDeveloper, sleep, until } from "../fixtures.js";

export type TestCluster = Awaited<ReturnType<typeof startTestCluster>>;
export type Developer = Awaited<ReturnType<TestCluster["developer"]>>;
export type PlanId = "free" | "pro" | "scale";

/** The server Postgres the tests may use; each cluster that asks gets its own database there. */
export const SHARED_POSTGRES_URL =
  process.env.RB_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  url: string;
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

/** A new, empty database on the shared Postgres; the control plane migrates it. */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `rb_cluster_${Math.random().toString(36).slice(2, 12)}`;
  const admin = async (sql: string) => {
    const client = new pg.Client(SHARED_POSTGRES_URL);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(SHARED_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async query(text, values) {
      const client = new pg.Client(url.toString());
      await client.connect();
      try {
        return await client.query(text, values);
      } finally {
        await client.end();
      }
    },
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export interface TestClusterOptions extends ClusterOptions {
  /**
   * Run the control plane on a new database of the shared Postgres, so that the test can
   * act as the operator or the billing system (e.g. put an org on a plan). Default: a
   * fresh PGlite folder, or `databaseUrl` when given.
   */
  sharedPostgres?: boolean;
}

/** A cluster with its own Redis and a fresh PGlite folder (or Postgres, see the options). */
export async function startTestCluster(options: TestClusterOptions = {}) {
  const { sharedPostgres, ...clusterOptions } = options;
  const database = sharedPostgres ? await createDatabase() : undefined;
  const databaseUrl = database?.url ?? options.databaseUrl;
  const dataDir = databaseUrl ? undefined : await mkdtemp(join(tmpdir(), "rb-cluster-"));
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      nodes: 2,
      restInstances: 1,
      ...clusterOptions,
      ...(databaseUrl ? { databaseUrl } : {}),
      ...(dataDir ? { dataDir } : {}),
    });
  } catch (err) {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
    throw err;
  }
  const clients = new Set<RelaybaseClient<object>>();
  const urls = {
    controlPlane: cluster.controlPlane.url,
    balancer: cluster.balancer.url,
    rest: cluster.rest[0]!.url,
  };

  return {
    cluster,
    urls,
    /**
     * A developer who signed up, created an app and a secret key, all through the console
     * API. With `plan`, their org is on that plan (as billing would set it; needs
     * `sharedPostgres`) and the directory has the app's limits for it.
     */
    async developer(appOptions: { allowedOrigins?: string[]; clientPublish?: boolean; plan?: PlanId } = {}) {
      const { plan, ...createOptions } = appOptions;
      const dev = await signUpDeveloper(urls, { name: "cluster", ...createOptions });
      if (plan) {
        if (!database)
          throw new Error("developer({ plan }) needs startTestCluster({ sharedPostgres: true })");
        await database.query("UPDATE orgs SET plan = $1 WHERE id = (SELECT org_id FROM apps WHERE id = $2)", [
          plan,
          dev.appId,
        ]);
        // Any change to the app publishes it to the directory again, with the plan's limits.
        await dev.trpc.apps.update.mutate({ appId: dev.appId, name: `cluster (${plan})` });
      }
      return dev;
    },
    /** An SDK client (WebSocket only), closed with the cluster. Through the balancer unless `url` is given. */
    client<E extends object = Record<string, unknown>>(options: Partial<ClientOptions> & { key: string }) {
      const client = createClient<E>({ url: urls.balancer, transports: ["websocket"], ...options });
      clients.add(client as RelaybaseClient<object>);
      return client;
    },
    /** Closes every client made so far. */
    closeClients() {
      for (const c of clients) c.close();
      clients.clear();
    },
    /** The realtime nodes that have not exited. */
    liveNodes() {
      return cluster.nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
    },
    /** Every service's output, for a failure message. */
    logs() {
      return [cluster.controlPlane, ...cluster.nodes, ...cluster.rest]
        .map((s) => `--- ${s.name}\n${s.output().slice(-4000)}`)
        .join("\n");
    },
    async close() {
      for (const c of clients) c.close();
      clients.clear();
      await cluster.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      await database?.drop();
    },
  };
}

export function serverClient(appId: string, secretKey: string, restUrl: string, controlPlaneUrl: string) {
  return createServerClient({ appId, secretKey, restUrl, controlPlaneUrl });
}

// ---------------------------------------------------------------------------------------
// Handshake probes

export type HandshakeResult = "connected" | string;

/**
 * Opens one SDK connection to `url` and says how it ended: "connected", or the error code
 * of a refused handshake (e.g. INVALID_KEY). `origin` sets the Origin header a browser sends.
 */
export async function probeHandshake(
  url: string,
  key: string,
  options: { origin?: string; timeoutMs?: number } = {},
): Promise<HandshakeResult> {
  const client = createClient({
    url,
    key,
    transports: ["websocket"],
    reconnectionDelayMs: 100,
    reconnectionDelayMaxMs: 200,
    ...(options.origin ? { socketOptions: { extraHeaders: { origin: options.origin } } } : {}),
  });
  try {
    return await new Promise<HandshakeResult>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer from ${url} within ${options.timeoutMs ?? 5000} ms`)),
        options.timeoutMs ?? 5000,
      );
      const settle = (result: HandshakeResult) => {
        clearTimeout(timer);
        resolve(result);
      };
      if (client.state === "connected") settle("connected");
      client.on("state", ({ current, error }) => {
        if (current === "connected") settle("connected");
        else if (current === "failed") settle(error?.code ?? "failed");
      });
      // A refusal that the SDK retries (backoff) still tells what the node answered.
      client.on("error", (error) => settle(error.code));
    });
  } finally {
    client.close();
  }
}

/**
 * Polls `probe` until it returns `expected`; resolves with the milliseconds it took from
 * `since`, for tests of a product bound (e.g. propagation within 5 s) and for reports.
 */
export async function timeUntil(
  probe: () => Promise<string>,
  expected: string,
  since: number,
  timeoutMs: number,
): Promise<number> {
  await poll(`"${expected}" within ${timeoutMs} ms`, probe, {
    timeoutMs: Math.max(0, since + timeoutMs - Date.now()),
    intervalMs: 50,
  }).toBe(expected);
  return Date.now() - since;
}

// ---------------------------------------------------------------------------------------
// Many clients, numbered messages, and what each client saw

/** Numbers received by one client in one room, checked as a user would: each once, in order. */
export class Ledger {
  readonly received: number[] = [];
  readonly #seen = new Set<number>();
  duplicates = 0;
  reorderings = 0;
  #max = 0;

  add(n: number): void {
    this.received.push(n);
    if (this.#seen.has(n)) {
      this.duplicates++;
      return;
    }
    if (n < this.#max) this.reorderings++;
    this.#seen.add(n);
    this.#max = Math.max(this.#max, n);
  }

  /** How many of 1..upTo never arrived. */
  missing(upTo: number): number {
    let missing = 0;
    for (let n = 1; n <= upTo; n++) if (!this.#seen.has(n)) missing++;
    return missing;
  }

  has(upTo: number): boolean {
    return this.#seen.size >= upTo && this.missing(upTo) === 0;
  }
}

export interface LoadClient {
  index: number;
  client: RelaybaseClient;
  room: string;
  ledger: Ledger;
  /** Every state change with its time. */
  states: { state: ConnectionState; at: number }[];
  resumed: ResumeInfo[];
  gaps: GapInfo[];
  /** Errors the client reported (refused handshakes and the like), with their time. */
  errors: { code: string; at: number }[];
}

/**
 * `count` clients, client i subscribed to `rooms[i % rooms.length]`, each recording the
 * numbers (event "n") it receives. Connects `concurrency` at a time; resolves once all
 * are subscribed.
 */
export async function connectLoadClients(
  cluster: TestCluster,
  options: {
    count: number;
    key: string;
    rooms: string[];
    url?: string;
    concurrency?: number;
    /** Send `X-Forwarded-For: <a distinct address per client>` (nodes with TRUST_PROXY=1 believe it). */
    distinctAddresses?: boolean;
  },
): Promise<LoadClient[]> {
  const all: LoadClient[] = [];
  const concurrency = options.concurrency ?? 25;
  for (let start = 0; start < options.count; start += concurrency) {
    const batch: Promise<void>[] = [];
    for (let index = start; index < Math.min(options.count, start + concurrency); index++) {
      const client = cluster.client({
        key: options.key,
        ...(options.url ? { url: options.url } : {}),
        ...(options.distinctAddresses
          ? { socketOptions: { extraHeaders: { "x-forwarded-for": clientAddress(index) } } }
          : {}),
      });
      const load: LoadClient = {
        index,
        client,
        room: options.rooms[index % options.rooms.length]!,
        ledger: new Ledger(),
        states: [],
        resumed: [],
        gaps: [],
        errors: [],
      };
      client.on("state", ({ current }) => load.states.push({ state: current, at: Date.now() }));
      client.on("error", (error) => load.errors.push({ code: error.code, at: Date.now() }));
      const room = client.room(load.room);
      room.on("n", (n) => load.ledger.add(n as number));
      room.onStatus("resumed", (info) => load.resumed.push(info));
      room.onStatus("gap", (info) => load.gaps.push(info));
      all.push(load);
      batch.push(room.subscribe());
    }
    await Promise.all(batch);
  }
  return all;
}

/** 10.0.0.1, 10.0.0.2, …: a made-up address per simulated user. */
export function clientAddress(index: number): string {
  const n = index + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export interface Publisher {
  /** The last number published (and acknowledged) per room. */
  readonly published: Map<string, number>;
  /** REST calls that failed and were retried with the same id. */
  readonly retries: number;
  /** Stops after the publishes in flight; resolves with `published`. */
  stop(): Promise<Map<string, number>>;
}

/**
 * Publishes 1, 2, 3, … (event "n") to each room over REST at `perRoomPerSecond`, one
 * message at a time per room so numbers and offsets agree. A failed call is retried with
 * the same message id (stored once); a message that cannot be published fails the test.
 */
export function startPublisher(server: ServerClient, rooms: string[], perRoomPerSecond: number): Publisher {
  const published = new Map<string, number>(rooms.map((r) => [r, 0]));
  // Message ids are unique per run: a room's history remembers ids, and a repeated id is
  // (rightly) not stored again.
  const run = Math.random().toString(36).slice(2, 10);
  const intervalMs = 1000 / perRoomPerSecond;
  let stopped = false;
  let retries = 0;
  const loops = rooms.map(async (room) => {
    let next = Date.now();
    for (let n = 1; !stopped; n++) {
      for (let attempt = 0; ; attempt++) {
        try {
          await server.publish({ room, event: "n", data: n, id: `${run}-${room}-${n}` });
          break;
        } catch (err) {
          if (attempt >= 20) throw err;
          retries++;
          await sleep(100);
        }
      }
      published.set(room, n);
      next += intervalMs;
      await sleep(Math.max(0, next - Date.now()));
    }
  });
  const done = Promise.all(loops);
  // Surfaced by stop(); keep an early failure from being unhandled meanwhile.
  done.catch(() => {});
  return {
    published,
    get retries() {
      return retries;
    },
    async stop() {
      stopped = true;
      await done;
      return published;
    },
  };
}

export interface DeliverySummary {
  clients: number;
  /** Messages published per room, added up over the rooms. */
  published: number;
  missing: number;
  duplicates: number;
  reorderings: number;
  gaps: number;
  /** Clients whose received numbers are exactly 1..published, in order. */
  exact: number;
}

export function summarizeDelivery(clients: LoadClient[], published: Map<string, number>): DeliverySummary {
  const summary: DeliverySummary = {
    clients: clients.length,
    published: [...published.values()].reduce((a, b) => a + b, 0),
    missing: 0,
    duplicates: 0,
    reorderings: 0,
    gaps: 0,
    exact: 0,
  };
  for (const c of clients) {
    const upTo = published.get(c.room)!;
    summary.missing += c.ledger.missing(upTo);
    summary.duplicates += c.ledger.duplicates;
    summary.reorderings += c.ledger.reorderings;
    summary.gaps += c.gaps.length;
    if (c.ledger.received.length === upTo && c.ledger.received.every((n, i) => n === i + 1)) summary.exact++;
  }
  return summary;
}

/**
 * How long after publishing stopped a client may still catch up before the messages it
 * lacks count as lost, not late. Generous on purpose: on a loaded CI machine catching up
 * took 15 s once; waiting on the condition costs nothing when all is well, and a client
 * that lost a message never catches up (no later message reveals the hole).
 */
export const CATCH_UP_LIMIT_MS = 60_000;

/** Waits until every client has every published number of its room; false when the limit passed. */
export async function untilAllDelivered(
  clients: LoadClient[],
  published: Map<string, number>,
  timeoutMs = CATCH_UP_LIMIT_MS,
): Promise<boolean> {
  return until(
    () => clients.every((c) => c.ledger.has(published.get(c.room)!)),
    "every client to have every message",
    { timeoutMs, intervalMs: 50 },
  ).then(
    () => true,
    // Let the assertions on the summary say what is missing.
    () => false,
  );
}

/** "caught up 850 ms after publishing stopped" or, past the limit, that messages were lost. */
export function describeCatchUp(run: Pick<LoadScenarioResult, "caughtUp" | "catchUpMs">): string {
  return run.caughtUp
    ? `caught up ${run.catchUpMs} ms after publishing stopped`
    : `LOST: not caught up ${run.catchUpMs} ms after publishing stopped`;
}

export interface ReconnectStats {
  /** Clients whose connection dropped after `since`. */
  dropped: LoadClient[];
  /** Of those, the ones connected again. */
  reconnected: number;
  /** Milliseconds from `since` to each dropped client's next `connected`, sorted. */
  times: number[];
  max: number;
  p50: number;
  p95: number;
}

/** One client's story after `since`, for failure messages: "+12 reconnecting, +15 SERVER_SHUTTING_DOWN, …". */
export function timeline(client: LoadClient, since: number): string {
  return [
    ...client.states.map((s) => ({ at: s.at, what: s.state })),
    ...client.errors.map((e) => ({ at: e.at, what: `error ${e.code}` })),
  ]
    .filter((e) => e.at >= since)
    .sort((a, b) => a.at - b.at)
    .map((e) => `+${e.at - since} ${e.what}`)
    .join(", ");
}

/** Who dropped after `since` (a kill or a SIGTERM) and how long until each was connected again. */
export function reconnectStats(clients: LoadClient[], since: number): ReconnectStats {
  const dropped: LoadClient[] = [];
  const times: number[] = [];
  for (const c of clients) {
    const after = c.states.filter((s) => s.at >= since);
    const drop = after.findIndex((s) => s.state !== "connected");
    if (drop === -1) continue;
    dropped.push(c);
    const back = after.slice(drop).find((s) => s.state === "connected");
    if (back) times.push(back.at - since);
  }
  times.sort((a, b) => a - b);
  const pick = (q: number) =>
    times.length ? times[Math.min(times.length - 1, Math.floor(q * times.length))]! : NaN;
  return {
    dropped,
    reconnected: times.length,
    times,
    max: times.length ? times[times.length - 1]! : NaN,
    p50: pick(0.5),
    p95: pick(0.95),
  };
}

// ---------------------------------------------------------------------------------------
// A private Postgres that a test may stop

export interface PrivatePostgres {
  url: string;
  /** `pg_ctl stop -m immediate`: the server is gone at once, as in a crash. */
  stop(): Promise<void>;
  /** Stops (if running) and deletes the data folder. */
  destroy(): Promise<void>;
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/**
 * initdb into a temp folder and start a Postgres on a free port, owned by this test.
 * initdb refuses to run as root; as root the server runs as the `postgres` user.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = await mkdtemp(join(tmpdir(), "rb-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const run = (args: string[]) => {
    const [command, ...rest] = asRoot ? ["runuser", "-u", "postgres", "--", ...args] : args;
    const result = spawnSync(command!, rest, { encoding: "utf8", timeout: 60_000 });
    if (result.status !== 0) {
      throw new Error(`${args.join(" ")} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
    }
  };
  const port = await freePort();
  let running = false;
  const stop = async () => {
    if (!running) return;
    running = false;
    run([`${PG_BIN}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]);
  };
  try {
    run([`${PG_BIN}/initdb`, "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    run([
      `${PG_BIN}/pg_ctl`,
      "-D",
      data,
      "-l",
      join(dir, "log"),
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-w",
      "start",
    ]);
    running = true;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    async destroy() {
      try {
        await stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => {
    const r = spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`no postgres user to run a private Postgres as: ${r.stderr}`);
    return Number(r.stdout.trim());
  };
  return { uid: id("-u"), gid: id("-g") };
}

// ---------------------------------------------------------------------------------------
// The load scenario shared by the node-death and redeploy tests

export interface LoadScenarioOptions {
  clients: number;
  rooms: string[];
  perRoomPerSecond: number;
  /** Publishing time before `disrupt`, and after it. */
  beforeMs: number;
  afterMs: number;
  /** The node to disrupt (default: the first one). */
  victim?: TestCluster["cluster"]["nodes"][number];
  /** Kills or drains a node; called with the node once the load runs. */
  disrupt: (node: TestCluster["cluster"]["nodes"][number]) => Promise<void> | void;
}

export interface LoadScenarioResult {
  clients: LoadClient[];
  /** Balancer connections per node before the disruption. */
  spread: Record<string, number>;
  victim: string;
  /** When `disrupt` was called. */
  disruptedAt: number;
  published: Map<string, number>;
  retries: number;
  /** From the end of publishing until every client had every message (or the wait gave up). */
  catchUpMs: number;
  /** False when some client still lacked a message CATCH_UP_LIMIT_MS after publishing stopped: lost, not late. */
  caughtUp: boolean;
}

/**
 * Many clients through the balancer (each with its own address: start the cluster with
 * TRUST_PROXY=1), numbered REST publishes to every room, and a disruption of one node
 * (the first by default) partway through. Resolves when every client has every
 * message or CATCH_UP_LIMIT_MS after publishing stopped; the caller asserts on what the clients saw.
 */
export async function runLoadScenario(
  c: TestCluster,
  dev: Developer,
  options: LoadScenarioOptions,
): Promise<LoadScenarioResult> {
  const clients = await connectLoadClients(c, {
    count: options.clients,
    key: dev.publishableKey,
    rooms: options.rooms,
    distinctAddresses: true,
  });
  const spread = c.cluster.balancer.connections();
  const victim = options.victim ?? c.cluster.nodes[0]!;
  const publisher = startPublisher(dev.server, options.rooms, options.perRoomPerSecond);
  await sleep(options.beforeMs);
  const disruptedAt = Date.now();
  await options.disrupt(victim);
  await sleep(Math.max(0, disruptedAt + options.afterMs - Date.now()));
  const published = await publisher.stop();
  const stoppedAt = Date.now();
  const caughtUp = await untilAllDelivered(clients, published);
  return {
    clients,
    spread,
    victim: victim.url,
    disruptedAt,
    published,
    retries: publisher.retries,
    catchUpMs: Date.now() - stoppedAt,
    caughtUp,
  };
}
