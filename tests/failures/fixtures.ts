/**
 * Failure-mode fixtures: a real distributed Relaybase (scripts/cluster: control plane,
 * realtime nodes behind a balancer, REST instances), optionally on a redis-server this
 * test owns so it can kill and restart it on the same port; developers who sign up
 * through the console API; SDK subscribers that record everything they see; and a TCP
 * link (tests/fixtures.ts `startLink`) between one client and the cluster, closed with it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientOptions,
  type ConnectionState,
  createClient,
  type GapInfo,
  type MessageMeta,
  type RelaybaseClient,
  type RelaybaseError,
  type ResumeInfo,
} from "@relaybase/sdk";
import { createClient as createRedisClient } from "redis";
import {
  type Cluster,
  freePort,
  type ServiceProcess,
  startCluster,
  startRedis,
} from "../../scripts/cluster/processes.js";
import { signUpDeveloper, startLink, until } from "../fixtures.js";

export type RedisConnection = ReturnType<typeof createRedisClient>;
export type FailureCluster = Awaited<ReturnType<typeof startFailureCluster>>;
export type Developer = Awaited<ReturnType<FailureCluster["developer"]>>;

export interface FailureClusterOptions {
  nodes?: number;
  /** Extra environment for every service, e.g. ADAPTER_MAX_LEN. */
  env?: Record<string, string>;
}

/**
 * A cluster on a redis-server of its own (started here with `startRedis(port)`, so the
 * test holds its process and can SIGKILL it and start another on the same port) and a
 * fresh PGlite folder. `close()` stops every process it started, also after a failure.
 */
export async function startFailureCluster(options: FailureClusterOptions = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), "rb-failures-"));
  const redisPort = await freePort();
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  let redis: ServiceProcess | undefined;
  let cluster: Cluster | undefined;
  const clients = new Set<RelaybaseClient<object>>();
  const closers: (() => Promise<unknown> | unknown)[] = [];

  const stopRedis = async () => {
    const running = redis;
    redis = undefined;
    await running?.stop("SIGKILL");
  };
  const close = async () => {
    for (const c of clients) c.close();
    clients.clear();
    for (const closer of closers.splice(0).reverse()) await Promise.resolve(closer()).catch(() => {});
    await cluster?.close().catch(() => {});
    await stopRedis();
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    redis = await startRedis(redisPort);
    await waitForRedis(redisUrl);
    cluster = await startCluster({
      nodes: options.nodes ?? 2,
      restInstances: 1,
      redisUrl,
      dataDir,
      ...(options.env ? { env: options.env } : {}),
    });
  } catch (err) {
    await close();
    throw err;
  }
  const started = cluster;
  const urls = {
    controlPlane: started.controlPlane.url,
    balancer: started.balancer.url,
    rest: started.rest[0]!.url,
  };

  return {
    cluster: started,
    urls,
    redisUrl,
    /** SIGKILLs the cluster's redis-server (no persistence: everything in it is gone). */
    killRedis: stopRedis,
    /** Starts an empty redis-server on the same port; resolves once it answers PING. */
    async restartRedis(): Promise<void> {
      if (redis) throw new Error("redis-server is still running");
      redis = await startRedis(redisPort);
      await waitForRedis(redisUrl);
    },
    /** A plain node-redis connection to the cluster's Redis, closed with the cluster. */
    async redis(): Promise<RedisConnection> {
      const client = createRedisClient({ url: redisUrl });
      client.on("error", () => {});
      await client.connect();
      closers.push(() => client.disconnect());
      return client;
    },
    /** A developer who signed up and created an app with a secret key, through the console API. */
    async developer() {
      return signUpDeveloper(urls, { name: "failures" });
    },
    /** An SDK client (WebSocket, quick reconnects), through the balancer unless `url` is given. */
    client(options: Partial<ClientOptions> & { key: string }): RelaybaseClient {
      const client = createClient({
        url: urls.balancer,
        transports: ["websocket"],
        reconnectionDelayMs: 50,
        reconnectionDelayMaxMs: 250,
        ...options,
      });
      clients.add(client as RelaybaseClient<object>);
      return client;
    },
    /** A link between one client and the cluster (see `startLink`), closed with the cluster. */
    async link(target: string) {
      const link = await startLink(target);
      closers.push(() => link.close());
      return link;
    },
    /** The last lines of every service's output, for failure messages. */
    logs(): string {
      return [started.controlPlane, ...started.nodes, ...started.rest]
        .map((s) => `--- ${s.name}\n${s.output().slice(-3000)}`)
        .join("\n");
    },
    close,
  };
}

/** Resolves once the redis-server at `url` answers PING. */
export async function waitForRedis(url: string): Promise<void> {
  await until(async () => {
    const probe = createRedisClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      await probe.disconnect();
      return true;
    } catch {
      await probe.disconnect().catch(() => {});
      return false;
    }
  }, `redis-server at ${url} to answer PING`);
}

/** Everything one subscriber saw in one room. */
export interface Watch {
  client: RelaybaseClient;
  room: string;
  /** Data of event "n" messages, in delivery order. */
  numbers: number[];
  metas: MessageMeta[];
  resumed: ResumeInfo[];
  gaps: GapInfo[];
  states: { current: ConnectionState; recovered?: boolean; error?: string; at: number }[];
  errors: RelaybaseError[];
  /** Room-level `unsubscribed` with an error: the room was dropped for good. */
  lost: RelaybaseError[];
}

/** Subscribes `client` to `room` and records what it sees; resolves once subscribed. */
export async function watch(client: RelaybaseClient, roomName: string): Promise<Watch> {
  const w: Watch = {
    client,
    room: roomName,
    numbers: [],
    metas: [],
    resumed: [],
    gaps: [],
    states: [],
    errors: [],
    lost: [],
  };
  client.on("state", ({ current, recovered, error }) =>
    w.states.push({
      current,
      at: Date.now(),
      ...(recovered === undefined ? {} : { recovered }),
      ...(error ? { error: error.code } : {}),
    }),
  );
  client.on("error", (error) => w.errors.push(error));
  const room = client.room(roomName);
  room.on("n", (n, meta) => {
    w.numbers.push(n as number);
    w.metas.push(meta);
  });
  room.onStatus("resumed", (info) => w.resumed.push(info));
  room.onStatus("gap", (info) => w.gaps.push(info));
  room.onStatus("unsubscribed", ({ error }) => {
    if (error) w.lost.push(error);
  });
  await room.subscribe();
  return w;
}

/** A short account of a subscriber, for assertion messages. */
export function describeWatch(w: Watch): string {
  return JSON.stringify({
    room: w.room,
    state: w.client.state,
    numbers: compactNumbers(w.numbers),
    resumed: w.resumed,
    gaps: w.gaps,
    states: w.states.map(
      (s) =>
        `${s.current}${s.recovered === undefined ? "" : `(recovered=${s.recovered})`}${s.error ? `:${s.error}` : ""}`,
    ),
    errors: w.errors.map((e) => `${e.code}: ${e.message}`),
    lost: w.lost.map((e) => e.code),
  });
}

/** "1-20,22,25-30": runs of consecutive numbers. */
export function compactNumbers(numbers: number[]): string {
  const parts: string[] = [];
  let start: number | undefined;
  let prev: number | undefined;
  const flush = () => {
    if (start === undefined) return;
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
  };
  for (const n of numbers) {
    if (prev !== undefined && n === prev + 1) {
      prev = n;
      continue;
    }
    flush();
    start = n;
    prev = n;
  }
  flush();
  return parts.join(",");
}

export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
