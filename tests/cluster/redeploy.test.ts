import type { ChildProcess } from "node:child_process";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep, until } from "../fixtures.js";
import {
  type Developer,
  describeCatchUp,
  type LoadScenarioResult,
  reconnectStats,
  runLoadScenario,
  startTestCluster,
  summarizeDelivery,
  type TestCluster,
  timeline,
} from "./fixtures.js";

/**
 * A rolling redeploy: a realtime node gets SIGTERM under load. It fails readiness, tells
 * its clients SERVER_SHUTTING_DOWN ("reconnect now"), waits for them to leave (at most
 * SHUTDOWN_DEADLINE_MS) and exits. The same 200 clients, 4 rooms and numbered REST
 * publishes as the node-death test, and the same result: every client connected again
 * within 10 s, every number delivered once, in order.
 *
 * Twice: once with every client leaving on the notice (the drain is over in a blink),
 * once with one more connection, a bare Socket.IO client that ignores the notice (an old
 * or foreign client), which keeps the node draining until the deadline. Meanwhile the
 * balancer, like a real one before its health check notices, still sends reconnecting
 * clients to the draining node, which refuses them.
 */
const ROOMS = ["public:feed-1", "public:feed-2", "public:feed-3", "public:feed-4"];
/** The second drain uses rooms of its own, so its numbers start at offset 1 too. */
const ROOMS_2 = ROOMS.map((r) => `${r}-b`);
const CLIENTS = 200;
const SHUTDOWN_DEADLINE_MS = 5_000;
// The timed assertions here are product bounds, timed on purpose: clients are back
// within 10 s of a SIGTERM (the same bound as a node's death), a node that everyone left
// exits before its deadline (it does not wait for nothing), and one with a straggler
// closes it no earlier than the deadline (a lower bound: a slow machine only makes it
// later) and exits soon after. Catch-up is waited for on a condition (fixtures).
/**
 * While the node drains, the balancer still sends it some reconnecting clients; it
 * refuses them (SERVER_SHUTTING_DOWN, retry "now"), and the SDK retries after about
 * reconnectionDelayMs each time, so they too are back within the node-death bound.
 */
const STRAGGLER_MAX_RECONNECT_MS = 10_000;

interface Probe {
  at: number;
  status: number | "refused";
}

/** Polls a node's /readyz until it stops answering (the process exited). */
async function watchReadiness(url: string, exited: () => boolean): Promise<Probe[]> {
  const probes: Probe[] = [];
  while (!exited()) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      probes.push({ at: Date.now(), status: res.status });
    } catch {
      probes.push({ at: Date.now(), status: "refused" });
      break;
    }
    await sleep(20);
  }
  return probes;
}

interface Drain {
  /** When the node exited. */
  exited: Promise<number>;
  /** Every /readyz answer from SIGTERM until the node stopped answering. */
  readiness: Promise<Probe[]>;
}

/** SIGTERM, and watch readiness from that moment on. */
function drain(child: ChildProcess, url: string): Drain {
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exited = new Promise<number>((resolve) => child.once("exit", () => resolve(Date.now())));
  child.kill("SIGTERM");
  return { exited, readiness: watchReadiness(url, gone) };
}

describe("a realtime node drained with SIGTERM under load", () => {
  let c: TestCluster;
  let dev: Developer;
  let straggler: Socket | undefined;

  beforeAll(async () => {
    // As in the node-death test: 200 client addresses behind a trusted proxy, a pro app.
    c = await startTestCluster({
      nodes: 2,
      restInstances: 1,
      sharedPostgres: true,
      env: { SHUTDOWN_DEADLINE_MS: String(SHUTDOWN_DEADLINE_MS), TRUST_PROXY: "1" },
    });
    dev = await c.developer({ plan: "pro" });
  }, 90_000);
  afterAll(async () => {
    straggler?.close();
    await c?.close();
  }, 30_000);

  /** The checks both drains share; returns the drained node's readiness answers. */
  async function expectCleanMove(run: LoadScenarioResult, d: Drain, label: string, maxReconnectMs: number) {
    const { clients, spread, victim, disruptedAt, published } = run;
    const onVictim = spread[victim] ?? 0;
    const survivors = c
      .liveNodes()
      .map((n) => n.url)
      .filter((url) => url !== victim);
    const sum = (counts: Record<string, number>, urls: string[]) =>
      urls.reduce((total, url) => total + (counts[url] ?? 0), 0);
    const exitedAt = await d.exited;
    const probes = await d.readiness;
    const node = c.cluster.nodes.find((n) => n.url === victim)!.process;

    const stats = reconnectStats(clients, disruptedAt);
    const delivery = summarizeDelivery(clients, published);
    const via = { connection: 0, history: 0 };
    for (const cl of stats.dropped) for (const r of cl.resumed) via[r.via]++;
    const statuses = probes.map((p) => p.status);
    const first503 = statuses.indexOf(503);
    const refusals = stats.dropped.reduce(
      (n, cl) => n + cl.errors.filter((e) => e.code === "SERVER_SHUTTING_DOWN").length,
      0,
    );
    console.info(
      `[redeploy ${label}] clients on drained node ${onVictim}/${CLIENTS}; reconnected ${stats.reconnected}/${stats.dropped.length}; ` +
        `reconnect ms p50 ${stats.p50} p95 ${stats.p95} max ${stats.max}; handshakes refused by the draining node ${refusals}; ` +
        `resumed via connection ${via.connection}, via history ${via.history}; ` +
        `node exited ${exitedAt - disruptedAt} ms after SIGTERM (code ${node.exitCode}); ` +
        `/readyz after SIGTERM: ${summarizeStatuses(statuses)}, first 503 after ${first503 === -1 ? "-" : probes[first503]!.at - disruptedAt} ms; ` +
        `published ${delivery.published}, REST retries ${run.retries}; missing ${delivery.missing}, ` +
        `duplicates ${delivery.duplicates}, reorderings ${delivery.reorderings}, gaps ${delivery.gaps}; ` +
        `${describeCatchUp(run)}`,
    );
    const slowest = stats.dropped
      .map((cl) => ({
        cl,
        at: cl.states.find((s) => s.at > disruptedAt && s.state === "connected")?.at ?? 0,
      }))
      .sort((a, b) => b.at - a.at)
      .slice(0, 2);
    for (const { cl } of slowest) {
      console.info(`[redeploy ${label}] slowest: client ${cl.index}: ${timeline(cl, disruptedAt)}`);
    }

    // While draining the node said it was not ready, and never ready again; then it
    // exited cleanly.
    expect(first503).toBeGreaterThanOrEqual(0);
    expect(statuses.slice(first503).filter((s) => s === 200)).toEqual([]);
    expect(node.exitCode).toBe(0);

    expect(onVictim + sum(spread, survivors)).toBe(CLIENTS);
    expect(onVictim).toBeGreaterThan(CLIENTS / 4);
    expect(stats.dropped.length).toBe(onVictim);
    expect(stats.reconnected).toBe(stats.dropped.length);
    expect(clients.filter((cl) => cl.client.state !== "connected").map((cl) => cl.index)).toEqual([]);
    expect(sum(c.cluster.balancer.connections(), survivors)).toBe(CLIENTS);

    for (const [room, n] of published) expect(n, room).toBeGreaterThanOrEqual(30);
    expect(run.caughtUp, "every client caught up (else messages were lost, not late)").toBe(true);
    expect(delivery).toMatchObject({ missing: 0, duplicates: 0, reorderings: 0, gaps: 0, exact: CLIENTS });
    // Each moved client resumed its room once, without a gap; the others never noticed.
    for (const cl of clients) {
      if (stats.dropped.includes(cl)) {
        expect(cl.resumed).toHaveLength(1);
        expect(cl.resumed[0]).toMatchObject({ room: cl.room, recovered: true });
      } else {
        expect(cl.resumed).toEqual([]);
      }
    }
    // Last, the timing: every moved client connected again within `maxReconnectMs` of the SIGTERM.
    expect(stats.max).toBeLessThanOrEqual(maxReconnectMs);
    return { exitedAt };
  }

  it("moves every client within 10 s, fails readiness and exits, and nobody loses, repeats or reorders a message", async () => {
    const victim = c.cluster.nodes[0]!;
    let d: Drain | undefined;
    const run = await runLoadScenario(c, dev, {
      clients: CLIENTS,
      rooms: ROOMS,
      perRoomPerSecond: 10,
      beforeMs: 2_000,
      afterMs: 3_000,
      victim,
      disrupt: (node) => {
        d = drain(node.process, node.url);
      },
    });
    const { exitedAt } = await expectCleanMove(run, d!, "all leave", 10_000);
    // Everyone left on the notice, so the node did not wait for its deadline.
    expect(exitedAt - run.disruptedAt).toBeLessThan(SHUTDOWN_DEADLINE_MS);
  }, 120_000);

  it("with a client that ignores the notice: drains until the deadline, closes it, and the rest move without loss", async () => {
    // The previous test's clients leave; a new node takes the drained one's place.
    c.closeClients();
    await until(
      () => Object.values(c.cluster.balancer.connections()).every((n) => n === 0),
      "old clients gone",
    );
    await c.cluster.addNode();
    const victim = c.cluster.nodes[1]!;

    straggler = io(victim.url, {
      auth: { key: dev.publishableKey },
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    const saw: { notice?: unknown; disconnect?: string; at?: number } = {};
    straggler.on("notice", (notice: unknown) => (saw.notice = notice));
    straggler.on("disconnect", (reason) => Object.assign(saw, { disconnect: reason, at: Date.now() }));
    await new Promise<void>((resolve, reject) => {
      straggler!.once("connect", resolve);
      straggler!.once("connect_error", reject);
    });

    let d: Drain | undefined;
    const run = await runLoadScenario(c, dev, {
      clients: CLIENTS,
      rooms: ROOMS_2,
      perRoomPerSecond: 10,
      beforeMs: 2_000,
      // Publish on past the end of the drain.
      afterMs: SHUTDOWN_DEADLINE_MS + 1_000,
      victim,
      disrupt: (node) => {
        d = drain(node.process, node.url);
      },
    });
    console.info(
      `[redeploy straggler] the bare client got ${JSON.stringify(saw.notice)} and was closed ` +
        `${saw.at ? saw.at - run.disruptedAt : "-"} ms after SIGTERM (${saw.disconnect})`,
    );
    // The client that stayed was told to reconnect, then closed by the node at the
    // deadline (io.close() ends the transport without a disconnect packet).
    expect(saw.notice).toMatchObject({ code: "SERVER_SHUTTING_DOWN", retry: "now" });
    expect(["transport close", "io server disconnect"]).toContain(saw.disconnect);
    expect(saw.at! - run.disruptedAt).toBeGreaterThanOrEqual(SHUTDOWN_DEADLINE_MS - 100);
    const { exitedAt } = await expectCleanMove(run, d!, "straggler", STRAGGLER_MAX_RECONNECT_MS);
    expect(exitedAt - run.disruptedAt).toBeLessThan(SHUTDOWN_DEADLINE_MS + 3_000);
  }, 120_000);
});

/** "200×3, 503×40, refused×1" */
function summarizeStatuses(statuses: (number | string)[]): string {
  const runs: string[] = [];
  for (let i = 0; i < statuses.length; ) {
    let j = i;
    while (j < statuses.length && statuses[j] === statuses[i]) j++;
    runs.push(`${statuses[i]}×${j - i}`);
    i = j;
  }
  return runs.join(", ") || "none";
}
