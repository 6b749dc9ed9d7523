/**
 * The suite's load generator: one long-lived process on the generator core, driven over
 * IPC by bench/suite.ts (load-client.ts), so subscribers stay connected across the steps
 * of a point. Commands:
 *
 * - `subscribe`: open `count` light subscribers (wire.ts) round-robin over `rooms`.
 * - `close`: close them all.
 * - `fanout`: open-loop publishes over HTTP at `rate`, round-robin over the rooms, each
 *   `data` stamped with sequence, scheduled time and step; counts every delivery of the
 *   measured window per subscriber (loss, duplicates) and its latency.
 * - `handshake`: `concurrency` loops of connect → subscribe ack → close, for `durationMs`.
 * - `restMax`: `connections` closed loops of POSTs (the most 2xx per second).
 * - `restOpen`: open-loop POSTs at `rate` (HTTP latency at a fixed rate).
 *
 * Around each measured window it sends `{ type: "mark", phase }` so that the orchestrator
 * samples the server's CPU for the same window.
 */
import type { Histogram } from "hdr-histogram-js";
import { httpAgent, postJson, runOpenLoop } from "./open-loop.js";
import { type LatencySummary, latencyHistogram, recordMs, summarize } from "./stats.js";
import { type LightSocket, readStamp, type SubscriberSpec, subscribe } from "./wire.js";

export interface SubscribeCommand {
  cmd: "subscribe";
  spec: Omit<SubscriberSpec, "room">;
  /** Rotated over the subscribers (Relaybase tokens), merged into `spec.auth`. */
  auths?: Record<string, string>[];
  rooms: string[];
  count: number;
  concurrency: number;
}

export interface PublishTarget {
  publishUrl: string;
  headers: Record<string, string>;
  payloadBytes: number;
}

export interface FanoutCommand extends PublishTarget {
  cmd: "fanout";
  step: number;
  rate: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
}

/** Closed loops warm up for at least `warmupMs`, then until steady, for at most `maxWarmupMs`. */
interface ClosedLoopWarmUp {
  warmupMs: number;
  maxWarmupMs: number;
}

export interface HandshakeCommand extends ClosedLoopWarmUp {
  cmd: "handshake";
  spec: SubscriberSpec;
  auths?: Record<string, string>[];
  concurrency: number;
  durationMs: number;
}

export interface RestMaxCommand extends PublishTarget, ClosedLoopWarmUp {
  cmd: "restMax";
  room: string;
  connections: number;
  /** 0: warm up only, no measured window (`warmUpServer`). */
  durationMs: number;
}

export interface RestOpenCommand extends PublishTarget {
  cmd: "restOpen";
  room: string;
  rate: number;
  warmupMs: number;
  durationMs: number;
}

export type WorkerCommand =
  | SubscribeCommand
  | { cmd: "close" }
  | FanoutCommand
  | HandshakeCommand
  | RestMaxCommand
  | RestOpenCommand;

export interface FanoutResult {
  rate: number;
  sent: number;
  expected: number;
  delivered: number;
  duplicates: number;
  latency: LatencySummary;
  http: LatencySummary;
  statuses: Record<string, number>;
  generatorCpu: number;
  wallMs: number;
}

export interface RateResult {
  /** Completed operations (handshakes, 2xx answers) per second of the measured window. */
  perSecond: number;
  completed: number;
  failed: number;
  latency: LatencySummary;
  statuses: Record<string, number>;
  errors: string[];
  generatorCpu: number;
  wallMs: number;
  /** How long the loops ran before the measured window (closed loops: until steady). */
  warmupMs: number;
}

interface Sub {
  socket: LightSocket;
  room: number;
  step: number;
  got: Uint8Array;
}

const subs: Sub[] = [];
let rooms: string[] = [];
/** Subscribers per room index. */
let perRoom: number[] = [];
let disconnects = 0;
const send = (m: unknown) => process.send?.(m);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The live fan-out step's counters (deliveries of other steps are ignored). */
let live:
  | { step: number; m0: number; m1: number; latency: Histogram; delivered: number; duplicates: number }
  | undefined;

function onDelivery(sub: Sub, text: string) {
  const st = readStamp(text);
  const step = live;
  if (!st || !step || st.r !== step.step || st.s < step.m0 || st.s >= step.m1) return;
  if (sub.step !== step.step) {
    sub.step = step.step;
    sub.got = new Uint8Array(step.m1 - step.m0);
  }
  const i = st.s - step.m0;
  if (sub.got[i]) {
    step.duplicates++;
    return;
  }
  sub.got[i] = 1;
  step.delivered++;
  recordMs(step.latency, performance.now() - st.t);
}

async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

async function doSubscribe(c: SubscribeCommand) {
  rooms = c.rooms;
  perRoom = rooms.map(() => 0);
  const t0 = performance.now();
  const errors: string[] = [];
  await pool(c.count, c.concurrency, async (i) => {
    const room = i % rooms.length;
    const auth = c.auths?.length ? { ...c.spec.auth, ...c.auths[i % c.auths.length] } : c.spec.auth;
    const sub: Sub = { socket: { close() {} }, room, step: -1, got: new Uint8Array(0) };
    try {
      sub.socket = await subscribe(
        { ...c.spec, room: rooms[room]!, ...(auth ? { auth } : {}) },
        { onDelivery: (text) => onDelivery(sub, text), onClose: () => disconnects++ },
      );
      subs.push(sub);
      perRoom[room]!++;
    } catch (err) {
      if (errors.length < 5) errors.push((err as Error).message);
    }
  });
  return { opened: subs.length, failed: c.count - subs.length, errors, ms: performance.now() - t0 };
}

async function doClose() {
  for (const s of subs) s.socket.close();
  subs.length = 0;
  await sleep(300);
  return { closed: true, disconnects };
}

function padding(payloadBytes: number): string {
  return "x".repeat(Math.max(0, payloadBytes - 60));
}

const SLICE_MS = 1000;

/**
 * Lets closed loops run until the server's code is warm, before the measured window: until
 * two 1-second slices in a row complete within 10% of the same number of operations, after
 * at least `minMs` and at most `maxMs`. V8 takes seconds of load to optimise a server as big
 * as Relaybase (the REST rate rose 600 → 5 500/s over its first 4 s on a 2 GHz Xeon, its
 * handshakes took ~12 s), B1 a few, so a fixed 500 ms warm-up measured Relaybase's JIT,
 * not its steady state. Returns the warm-up's length.
 */
async function warmUntilSteady(done: () => number, minMs: number, maxMs: number): Promise<number> {
  const t0 = performance.now();
  let previous = Number.NaN;
  for (;;) {
    const n0 = done();
    await sleep(SLICE_MS);
    const slice = done() - n0;
    const elapsed = performance.now() - t0;
    if (elapsed >= minMs && slice > 0 && Math.abs(slice - previous) <= 0.1 * previous) return elapsed;
    // Another slice would run past the cap.
    if (elapsed + SLICE_MS > maxMs) return elapsed;
    previous = slice;
  }
}

/** Marks the measured window and measures this process's CPU over it. */
function measuredWindow() {
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  return {
    start() {
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      send({ type: "mark", phase: "start" });
    },
    end() {
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - t0;
      send({ type: "mark", phase: "end" });
      return { wallMs, generatorCpu: (cpu.user + cpu.system) / 1000 / wallMs };
    },
  };
}

async function doFanout(c: FanoutCommand): Promise<FanoutResult> {
  const warm = Math.round((c.rate * c.warmupMs) / 1000);
  const measured = Math.max(1, Math.round((c.rate * c.measureMs) / 1000));
  const step = {
    step: c.step,
    m0: warm,
    m1: warm + measured,
    latency: latencyHistogram(),
    delivered: 0,
    duplicates: 0,
  };
  live = step;
  const http = latencyHistogram();
  const statuses: Record<string, number> = {};
  const agent = httpAgent();
  const url = new URL(c.publishUrl);
  const pad = padding(c.payloadBytes);
  let inFlight = 0;
  let expected = 0;
  const win = measuredWindow();
  const startAt = performance.now() + 50;
  const endAt = startAt + (step.m1 * 1000) / c.rate;
  setTimeout(() => win.start(), Math.max(0, startAt + (step.m0 * 1000) / c.rate - performance.now()));
  await runOpenLoop({
    rate: c.rate,
    count: step.m1,
    startAt,
    send(seq, scheduledAt) {
      const room = seq % rooms.length;
      const isMeasured = seq >= step.m0;
      if (isMeasured) expected += perRoom[room]!;
      const body = `{"room":${JSON.stringify(rooms[room])},"event":"b","data":{"s":${seq},"t":${scheduledAt},"r":${c.step},"p":"${pad}"}}`;
      inFlight++;
      postJson(agent, url, c.headers, body, (status) => {
        inFlight--;
        const k = status === null ? "error" : String(status);
        statuses[k] = (statuses[k] ?? 0) + 1;
        if (isMeasured) recordMs(http, performance.now() - scheduledAt);
      });
    },
  });
  await sleep(Math.max(0, endAt - performance.now()));
  const { wallMs, generatorCpu } = win.end();
  const drainUntil = performance.now() + c.drainMs;
  while ((step.delivered < expected || inFlight > 0) && performance.now() < drainUntil) await sleep(20);
  live = undefined;
  agent.destroy();
  return {
    rate: c.rate,
    sent: measured,
    expected,
    delivered: step.delivered,
    duplicates: step.duplicates,
    latency: summarize(step.latency),
    http: summarize(http),
    statuses,
    generatorCpu,
    wallMs,
  };
}

async function doHandshake(c: HandshakeCommand): Promise<RateResult> {
  const latency = latencyHistogram();
  const errors: string[] = [];
  let completed = 0;
  let failed = 0;
  let done = 0;
  let measuring = false;
  let stop = false;
  let n = 0;
  const win = measuredWindow();
  const loop = async () => {
    while (!stop) {
      const auth = c.auths?.length ? { ...c.spec.auth, ...c.auths[n++ % c.auths.length] } : c.spec.auth;
      const t0 = performance.now();
      const counted = measuring;
      try {
        const s = await subscribe({ ...c.spec, ...(auth ? { auth } : {}) });
        s.close();
        done++;
        if (counted && measuring) {
          completed++;
          recordMs(latency, performance.now() - t0);
        }
      } catch (err) {
        if (counted && measuring) failed++;
        if (errors.length < 5) errors.push((err as Error).message);
        await sleep(10);
      }
    }
  };
  const loops = Array.from({ length: c.concurrency }, loop);
  const warmupMs = await warmUntilSteady(() => done, c.warmupMs, c.maxWarmupMs);
  measuring = true;
  win.start();
  await sleep(c.durationMs);
  measuring = false;
  const { wallMs, generatorCpu } = win.end();
  stop = true;
  await Promise.all(loops);
  await sleep(300);
  return {
    perSecond: (completed * 1000) / wallMs,
    completed,
    failed,
    latency: summarize(latency),
    statuses: {},
    errors,
    generatorCpu,
    wallMs,
    warmupMs,
  };
}

function body(room: string, seq: number, pad: string): string {
  return `{"room":${JSON.stringify(room)},"event":"b","data":{"s":${seq},"t":${performance.now()},"r":-1,"p":"${pad}"}}`;
}

async function doRestMax(c: RestMaxCommand): Promise<RateResult> {
  const latency = latencyHistogram();
  const statuses: Record<string, number> = {};
  const agent = httpAgent(c.connections);
  const url = new URL(c.publishUrl);
  const pad = padding(c.payloadBytes);
  let measuring = false;
  let stop = false;
  let completed = 0;
  let failed = 0;
  let done = 0;
  let seq = 0;
  const win = measuredWindow();
  const loop = async () => {
    while (!stop) {
      const t0 = performance.now();
      const counted = measuring;
      const status = await new Promise<number | null>((r) =>
        postJson(agent, url, c.headers, body(c.room, seq++, pad), r),
      );
      if (status !== null && status >= 200 && status < 300) done++;
      if (!(counted && measuring)) continue;
      const k = status === null ? "error" : String(status);
      statuses[k] = (statuses[k] ?? 0) + 1;
      if (status !== null && status >= 200 && status < 300) {
        completed++;
        recordMs(latency, performance.now() - t0);
      } else failed++;
    }
  };
  const loops = Array.from({ length: c.connections }, loop);
  const warmupMs = await warmUntilSteady(() => done, c.warmupMs, c.maxWarmupMs);
  let wallMs = 0;
  let generatorCpu = 0;
  if (c.durationMs > 0) {
    measuring = true;
    win.start();
    await sleep(c.durationMs);
    measuring = false;
    ({ wallMs, generatorCpu } = win.end());
  }
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  return {
    perSecond: wallMs > 0 ? (completed * 1000) / wallMs : 0,
    completed,
    failed,
    latency: summarize(latency),
    statuses,
    errors: [],
    generatorCpu,
    wallMs,
    warmupMs,
  };
}

async function doRestOpen(c: RestOpenCommand): Promise<RateResult> {
  const latency = latencyHistogram();
  const statuses: Record<string, number> = {};
  const agent = httpAgent();
  const url = new URL(c.publishUrl);
  const pad = padding(c.payloadBytes);
  const warm = Math.round((c.rate * c.warmupMs) / 1000);
  const total = warm + Math.max(1, Math.round((c.rate * c.durationMs) / 1000));
  let completed = 0;
  let failed = 0;
  let inFlight = 0;
  const win = measuredWindow();
  const startAt = performance.now() + 50;
  setTimeout(() => win.start(), Math.max(0, startAt + (warm * 1000) / c.rate - performance.now()));
  await runOpenLoop({
    rate: c.rate,
    count: total,
    startAt,
    send(seq, scheduledAt) {
      const isMeasured = seq >= warm;
      inFlight++;
      postJson(agent, url, c.headers, body(c.room, seq, pad), (status) => {
        inFlight--;
        if (!isMeasured) return;
        const k = status === null ? "error" : String(status);
        statuses[k] = (statuses[k] ?? 0) + 1;
        if (status !== null && status >= 200 && status < 300) completed++;
        else failed++;
        recordMs(latency, performance.now() - scheduledAt);
      });
    },
  });
  await sleep(Math.max(0, startAt + (total * 1000) / c.rate - performance.now()));
  const { wallMs, generatorCpu } = win.end();
  const until = performance.now() + 5000;
  while (inFlight > 0 && performance.now() < until) await sleep(20);
  agent.destroy();
  return {
    perSecond: (completed * 1000) / wallMs,
    completed,
    failed,
    latency: summarize(latency),
    statuses,
    errors: [],
    generatorCpu,
    wallMs,
    warmupMs: c.warmupMs,
  };
}

const handlers: Record<WorkerCommand["cmd"], (c: never) => Promise<unknown>> = {
  subscribe: doSubscribe,
  close: doClose,
  fanout: doFanout,
  handshake: doHandshake,
  restMax: doRestMax,
  restOpen: doRestOpen,
};

let queue = Promise.resolve();
process.on("message", (m: { id: number; command: WorkerCommand }) => {
  queue = queue.then(async () => {
    try {
      const result = await handlers[m.command.cmd](m.command as never);
      send({ type: "done", id: m.id, result });
    } catch (err) {
      send({ type: "done", id: m.id, error: (err as Error).stack ?? String(err) });
    }
  });
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
