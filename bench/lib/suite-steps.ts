/**
 * The suite's measurements, one function per path (bench/suite.ts runs them in order).
 * Each takes the load worker and the servers and returns plain JSON for the results file.
 */
import type { LoadWorker } from "./load-client.js";
import type { FanoutResult, RateResult } from "./load-worker.js";
import type { CpuWindow } from "./rig.js";
import type { BenchServer, SuiteSystem } from "./servers.js";
import { type Spread, spread } from "./stats.js";
import type { SubscriberSpec } from "./wire.js";

export interface SuiteConfig {
  reps: number;
  memory: { from: number; to: number };
  /**
   * Before any path is measured, each server runs handshakes, then REST publishes, for at
   * least `minMs` each and then until steady (at most `maxMs`); see `warmUpServer`. Each
   * closed-loop step (handshakes, REST max) then warms for its own `warmupMs` and until
   * steady, up to `stepMaxMs`.
   */
  warmUp: { minMs: number; maxMs: number; stepMaxMs: number };
  handshake: { concurrency: number; warmupMs: number; durationMs: number };
  fanout: {
    points: { rooms: number; perRoom: number; payload: number }[];
    /** Each open-loop step's own lead-in (the server itself was warmed first: `warmUpServer`). */
    warmupMs: number;
    measureMs: number;
    drainMs: number;
    /** Multiples of the estimated capacity tried after the calibration step. */
    factors: number[];
    maxGeneratorCpu: number;
  };
  rest: { connections: number; warmupMs: number; durationMs: number };
}

const log = (...m: unknown[]) => console.error(...m);

/** Alternates which system goes first from one repetition to the next. */
export function orderFor(rep: number, systems: SuiteSystem[]): SuiteSystem[] {
  return rep % 2 === 0 ? systems : [...systems].reverse();
}

function specOf(server: BenchServer): Omit<SubscriberSpec, "room"> {
  const relaybase = server.system === "relaybase" || server.system === "before";
  return {
    system: server.system === "before" ? "relaybase" : server.system,
    url: server.info.url,
    ...(relaybase ? { auth: { key: server.info.key! } } : {}),
  };
}

const pids = (s: BenchServer) => ({ [s.system]: s.pid });
const cpuMs = (w: CpuWindow | undefined) =>
  w ? Object.values(w.processes).reduce((a, b) => a + b, 0) : Number.NaN;

export interface MemoryResult {
  system: SuiteSystem;
  baselineRssMiB: number;
  /** Per subscribed connection, between `from` and `to` connections, after GC. */
  heapKiB: number;
  rssKiB: number;
  opened: number;
}

export async function measureMemory(
  worker: LoadWorker,
  server: BenchServer,
  cfg: SuiteConfig,
): Promise<MemoryResult> {
  const base = await server.memory();
  const rooms = Array.from({ length: 100 }, (_, i) => `public:mem-${i}`);
  const spec = specOf(server);
  await worker.run({ cmd: "subscribe", spec, rooms, count: cfg.memory.from, concurrency: 50 });
  const a = await server.memory();
  const more = await worker.run<{ opened: number }>({
    cmd: "subscribe",
    spec,
    rooms,
    count: cfg.memory.to - cfg.memory.from,
    concurrency: 50,
  });
  const b = await server.memory();
  await worker.run({ cmd: "close" });
  const n = cfg.memory.to - cfg.memory.from;
  const r = {
    system: server.system,
    baselineRssMiB: base.rss / 2 ** 20,
    heapKiB: (b.heapUsed - a.heapUsed) / n / 1024,
    rssKiB: (b.rss - a.rss) / n / 1024,
    opened: more.result.opened,
  };
  log(
    `  memory ${server.system}: heap ${r.heapKiB.toFixed(2)} KiB, rss ${r.rssKiB.toFixed(2)} KiB per connection`,
  );
  return r;
}

export interface HandshakeRun extends RateResult {
  system: SuiteSystem;
  rep: number;
  serverCpu: number;
  serverUsPerHandshake: number;
}

/**
 * Runs the server's hot paths before anything of it is measured: handshakes (with the
 * bench's tokens for Relaybase), then REST publishes to one subscriber, each for at least
 * `warmUp.minMs` and then until two 1-second slices agree within 10%. On a 2 GHz Xeon V8
 * took 8–12 s of load to optimise Relaybase's handshake path (266 → 850 handshakes/s) and
 * ~4 s for its REST path, B1 ~5 s, with plateaus on the way; a step that started cold
 * measured the JIT. Every system gets the same treatment.
 */
export async function warmUpServer(worker: LoadWorker, server: BenchServer, cfg: SuiteConfig): Promise<void> {
  const loop = { warmupMs: cfg.warmUp.minMs, maxWarmupMs: cfg.warmUp.maxMs, durationMs: 0 };
  const auths = server.info.tokens?.map((token) => ({ token }));
  const hs = await worker.run<RateResult>({
    cmd: "handshake",
    spec: { ...specOf(server), room: "public:warm-up" },
    ...(auths ? { auths } : {}),
    concurrency: cfg.handshake.concurrency,
    ...loop,
  });
  const room = "public:warm-up";
  await worker.run({ cmd: "subscribe", spec: specOf(server), rooms: [room], count: 1, concurrency: 1 });
  const rest = await worker.run<RateResult>({
    cmd: "restMax",
    room,
    connections: cfg.rest.connections,
    publishUrl: server.info.publishUrl,
    headers: server.info.headers ?? {},
    payloadBytes: 100,
    ...loop,
  });
  await worker.run({ cmd: "close" });
  log(
    `  warm-up ${server.system}: handshakes ${(hs.result.warmupMs / 1000).toFixed(0)} s, REST publishes ${(rest.result.warmupMs / 1000).toFixed(0)} s`,
  );
}

export async function measureHandshakes(
  worker: LoadWorker,
  server: BenchServer,
  cfg: SuiteConfig,
  rep: number,
): Promise<HandshakeRun> {
  const spec = { ...specOf(server), room: "public:handshake" };
  // Relaybase: a signed token per connection (verified), rotated over the minted ones.
  const auths = server.info.tokens?.map((token) => ({ token }));
  const { result, window } = await worker.run<RateResult>(
    {
      cmd: "handshake",
      spec,
      ...(auths ? { auths } : {}),
      ...cfg.handshake,
      maxWarmupMs: cfg.warmUp.stepMaxMs,
    },
    pids(server),
  );
  const ms = cpuMs(window);
  const run = {
    ...result,
    system: server.system,
    rep,
    serverCpu: ms / (window?.wallMs ?? Number.NaN),
    serverUsPerHandshake: (ms * 1000) / result.completed,
  };
  log(
    `  handshake ${server.system} rep ${rep}: ${run.perSecond.toFixed(0)}/s after ${(run.warmupMs / 1000).toFixed(1)} s of warm-up, ${run.failed} failed, server ${(run.serverCpu * 100).toFixed(0)}%, gen ${(run.generatorCpu * 100).toFixed(0)}%${result.errors[0] ? ` (${result.errors[0]})` : ""}`,
  );
  return run;
}

export interface FanoutStep extends FanoutResult {
  deliveriesPerSecond: number;
  serverUsPerDelivery: number;
  serverCpuMs: number;
  serverCpu: number;
  pass: boolean;
  /** The generator's core was over its limit: the step measured the generator. */
  generatorBound: boolean;
}

export interface FanoutRun {
  system: SuiteSystem;
  rep: number;
  point: string;
  /** Highest deliveries/s with no loss and p99 < 100 ms (0 if none passed). */
  maxDeliveriesPerSecond: number;
  /**
   * A step above that maximum was discarded because the generator's core was over its
   * limit: the maximum is the generator's, a lower bound on the server's.
   */
  generatorCapped: boolean;
  /** Server CPU per delivery, median of the steps that passed (µs; of all steps if none did). */
  serverUsPerDelivery: number;
  /**
   * Deliveries/s one core would sustain at the lowest CPU per delivery seen (1e6 ÷ µs): what
   * the CPU allows, when scheduling noise on a shared machine kept every step over 100 ms.
   */
  cpuCapacity: number;
  steps: FanoutStep[];
}

export const pointName = (p: { rooms: number; perRoom: number; payload: number }) =>
  `${p.rooms}x${p.perRoom}@${p.payload}B`;

let stepCounter = 0;

export async function measureFanout(
  worker: LoadWorker,
  server: BenchServer,
  cfg: SuiteConfig,
  point: SuiteConfig["fanout"]["points"][number],
  rep: number,
): Promise<FanoutRun> {
  const rooms = Array.from({ length: point.rooms }, (_, i) => `public:fan-${i}`);
  const opened = await worker.run<{ opened: number; failed: number; errors: string[] }>({
    cmd: "subscribe",
    spec: specOf(server),
    rooms,
    count: point.rooms * point.perRoom,
    concurrency: 50,
  });
  if (opened.result.failed > 0)
    log(`  ${opened.result.failed} subscribers failed: ${opened.result.errors[0]}`);
  const steps: FanoutStep[] = [];
  const step = async (deliveriesPerSecond: number) => {
    const rate = Math.max(1, Math.round(deliveriesPerSecond / point.perRoom));
    const { result, window } = await worker.run<FanoutResult>(
      {
        cmd: "fanout",
        step: stepCounter++,
        rate,
        warmupMs: cfg.fanout.warmupMs,
        measureMs: cfg.fanout.measureMs,
        drainMs: cfg.fanout.drainMs,
        publishUrl: server.info.publishUrl,
        headers: server.info.headers ?? {},
        payloadBytes: point.payload,
      },
      pids(server),
    );
    const ms = cpuMs(window);
    const non2xx = Object.entries(result.statuses).some(([k]) => !k.startsWith("2"));
    const s: FanoutStep = {
      ...result,
      deliveriesPerSecond: (result.sent * point.perRoom * 1000) / cfg.fanout.measureMs,
      serverCpuMs: ms,
      // Per delivery due, not per one that arrived: a step that lost most of its messages
      // must not look expensive per delivery for it.
      serverUsPerDelivery: (ms * 1000) / Math.max(1, result.expected),
      serverCpu: ms / (window?.wallMs ?? Number.NaN),
      generatorBound: result.generatorCpu > cfg.fanout.maxGeneratorCpu,
      pass: false,
    };
    s.pass =
      !s.generatorBound &&
      !non2xx &&
      s.delivered === s.expected &&
      s.duplicates === 0 &&
      s.latency.p99 < 100_000;
    steps.push(s);
    log(
      `  fanout ${pointName(point)} ${server.system} rep ${rep}: ${Math.round(s.deliveriesPerSecond)} del/s → ${s.delivered}/${s.expected}, p99 ${(s.latency.p99 / 1000).toFixed(1)} ms, ${s.serverUsPerDelivery.toFixed(1)} µs/del, server ${(s.serverCpu * 100).toFixed(0)}%, gen ${(s.generatorCpu * 100).toFixed(0)}% ${s.pass ? "pass" : s.generatorBound ? "GENERATOR-BOUND" : "fail"}`,
    );
    return s;
  };
  // Calibrate at a light load, then try multiples of the capacity that CPU cost implies.
  const calib = await step(Math.min(5000, point.rooms * point.perRoom * 20));
  // An overloaded machine can lose most of the calibration step; go on from a floor then.
  let estimate = 1e6 / Math.max(1, calib.serverUsPerDelivery);
  for (const f of cfg.fanout.factors) {
    const s = await step(estimate * f);
    if (!s.pass) break;
    // CPU per delivery falls as the rate rises (writes batch up, the code is warm by now),
    // so the light calibration step underestimates; aim the next step from the cheapest yet.
    estimate = Math.max(estimate, 1e6 / Math.max(1, s.serverUsPerDelivery));
  }
  await worker.run({ cmd: "close" });
  const passed = steps.filter((s) => s.pass);
  const max = Math.max(0, ...passed.map((s) => s.deliveriesPerSecond));
  return {
    system: server.system,
    rep,
    point: pointName(point),
    maxDeliveriesPerSecond: max,
    generatorCapped: generatorCapped(steps, max),
    serverUsPerDelivery: spread((passed.length ? passed : steps).map((s) => s.serverUsPerDelivery)).median,
    cpuCapacity: cpuCapacityOf(steps),
    steps,
  };
}

/** Whether a step above `max` was discarded for the generator's CPU (the max is then the generator's). */
export function generatorCapped(
  steps: Pick<FanoutStep, "generatorBound" | "deliveriesPerSecond">[],
  max: number,
): boolean {
  return steps.some((s) => s.generatorBound && s.deliveriesPerSecond > max);
}

/** 1e6 ÷ the lowest µs per delivery among steps that delivered at least 90% (NaN if none did). */
export function cpuCapacityOf(
  steps: Pick<FanoutStep, "serverUsPerDelivery" | "delivered" | "expected">[],
): number {
  const usable = steps.filter((s) => s.delivered >= 0.9 * s.expected);
  return usable.length ? 1e6 / Math.min(...usable.map((s) => s.serverUsPerDelivery)) : Number.NaN;
}

export interface RestRun {
  system: SuiteSystem;
  rep: number;
  max: RateResult & { serverUsPerRequest: number };
  half: RateResult;
}

export async function measureRest(
  worker: LoadWorker,
  server: BenchServer,
  cfg: SuiteConfig,
  rep: number,
): Promise<RestRun> {
  const target = await restTarget(worker, server);
  const max = await worker.run<RateResult>(
    {
      cmd: "restMax",
      connections: cfg.rest.connections,
      warmupMs: cfg.rest.warmupMs,
      maxWarmupMs: cfg.warmUp.stepMaxMs,
      durationMs: cfg.rest.durationMs,
      ...target,
    },
    pids(server),
  );
  const half = await worker.run<RateResult>({
    cmd: "restOpen",
    rate: Math.max(1, Math.round(max.result.perSecond / 2)),
    warmupMs: cfg.rest.warmupMs,
    durationMs: cfg.rest.durationMs,
    ...target,
  });
  await worker.run({ cmd: "close" });
  const run = {
    system: server.system,
    rep,
    max: { ...max.result, serverUsPerRequest: usPerRequest(max) },
    half: half.result,
  };
  log(
    `  rest ${server.system} rep ${rep}: max ${run.max.perSecond.toFixed(0)} 2xx/s after ${(run.max.warmupMs / 1000).toFixed(1)} s of warm-up (${run.max.serverUsPerRequest.toFixed(0)} µs each, gen ${(run.max.generatorCpu * 100).toFixed(0)}%), p99 at ${Math.round(max.result.perSecond / 2)}/s: ${(run.half.latency.p99 / 1000).toFixed(1)} ms, statuses ${JSON.stringify(run.max.statuses)}`,
  );
  return run;
}

/**
 * The server's CPU per request at one open-loop rate, given to every system alike
 * (bench/rest-floor.ts). At its own maximum each system is measured at another rate, and
 * a server that is idle more of the time pays more per request to be woken ("Sixth round"
 * in docs/benchmarks.md); at one rate both pay the same wake-ups.
 */
export async function measureRestAt(
  worker: LoadWorker,
  server: BenchServer,
  cfg: SuiteConfig,
  rate: number,
): Promise<RateResult & { serverUsPerRequest: number }> {
  const target = await restTarget(worker, server);
  const open = await worker.run<RateResult>(
    { cmd: "restOpen", rate, warmupMs: cfg.rest.warmupMs, durationMs: cfg.rest.durationMs, ...target },
    pids(server),
  );
  await worker.run({ cmd: "close" });
  return { ...open.result, serverUsPerRequest: usPerRequest(open) };
}

/** The REST paths' setup: one subscriber in the room published to, and the publish target. */
async function restTarget(worker: LoadWorker, server: BenchServer) {
  const room = "public:rest";
  await worker.run({ cmd: "subscribe", spec: specOf(server), rooms: [room], count: 1, concurrency: 1 });
  return {
    publishUrl: server.info.publishUrl,
    headers: server.info.headers ?? {},
    payloadBytes: 100,
    room,
  };
}

const usPerRequest = (m: { result: RateResult; window?: CpuWindow }) =>
  (cpuMs(m.window) * 1000) / Math.max(1, m.result.completed);

/** Per-repetition ratios a ÷ b of one figure, median and range. */
export function pairedRatio<T extends { system: SuiteSystem; rep: number }>(
  runs: T[],
  a: SuiteSystem,
  b: SuiteSystem,
  f: (r: T) => number,
): Spread {
  const ratios: number[] = [];
  for (const ra of runs.filter((r) => r.system === a)) {
    const rb = runs.find((r) => r.system === b && r.rep === ra.rep);
    if (rb) ratios.push(f(ra) / f(rb));
  }
  return spread(ratios);
}

export function medianOf<T extends { system: SuiteSystem }>(
  runs: T[],
  system: SuiteSystem,
  f: (r: T) => number,
): Spread {
  return spread(runs.filter((r) => r.system === system).map(f));
}
