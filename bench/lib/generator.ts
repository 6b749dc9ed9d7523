/**
 * The load generator, one process pinned to the generator core (started by runPinned):
 * subscribers (bare socket.io-client, WebSocket only) on every server, and an open-loop
 * publisher POSTing `{ room, event, data }` where `data = { s: sequence, t: scheduled send
 * time, p: padding }`. Publisher and subscribers share this process's clock, so the
 * latency of a delivery is `performance.now()` at receipt minus the scheduled `t`.
 *
 * Relaybase subscribers speak the wire protocol (`auth: { key }`, `subscribe` with ack,
 * `message` envelopes with offsets); B2 subscribers the same events on the bare servers.
 */
import { io, type Socket } from "socket.io-client";
import { httpAgent, postJson, runOpenLoop } from "./open-loop.js";
import { latencyHistogram, recordMs, summarize } from "./stats.js";
import type { GeneratorConfig, GeneratorResult } from "./types.js";

const config = JSON.parse(process.argv[2]!) as GeneratorConfig;
const send = (m: unknown) => process.send?.(m);

interface Sub {
  socket: Socket;
  node: number;
  got: Uint8Array;
  maxSeq: number;
  offsets: Set<number>;
  minOffset: number;
  maxOffset: number;
}

const warmupCount = Math.round((config.rate * config.warmupMs) / 1000);
const measureCount = Math.round((config.rate * config.measureMs) / 1000);
const m0 = warmupCount;
const m1 = warmupCount + measureCount;

const latency = latencyHistogram();
const nodeCount = Math.max(...config.subscribers.map((s) => s.node)) + 1;
const byNode = Array.from({ length: nodeCount }, () => latencyHistogram());
const http = latencyHistogram();
const sendLag = latencyHistogram();
const statuses: Record<string, number> = {};
let httpErrors = 0;
let delivered = 0;
let duplicates = 0;
let seqReorders = 0;
let offsetReorders = 0;
let disconnects = 0;
let inFlight = 0;

function onMessage(sub: Sub, envelope: { data?: { s?: number; t?: number }; offset?: number }) {
  const now = performance.now();
  const s = envelope.data?.s;
  const t = envelope.data?.t;
  if (typeof s !== "number" || typeof t !== "number") return;
  if (s < sub.maxSeq) seqReorders++;
  sub.maxSeq = Math.max(sub.maxSeq, s);
  const offset = envelope.offset;
  if (typeof offset === "number") {
    if (offset < sub.maxOffset) offsetReorders++;
    sub.offsets.add(offset);
    sub.minOffset = Math.min(sub.minOffset, offset);
    sub.maxOffset = Math.max(sub.maxOffset, offset);
  }
  if (s < m0 || s >= m1) return;
  const i = s - m0;
  if (sub.got[i]) {
    duplicates++;
    return;
  }
  sub.got[i] = 1;
  delivered++;
  recordMs(latency, now - t);
  recordMs(byNode[sub.node]!, now - t);
}

async function connect(spec: GeneratorConfig["subscribers"][number]): Promise<Sub> {
  const socket = io(spec.url, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    ...(spec.auth ? { auth: spec.auth } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (err: Error & { data?: unknown }) =>
      reject(new Error(`connect to ${spec.url}: ${err.message} ${JSON.stringify(err.data ?? "")}`)),
    );
  });
  const ack = (await socket.timeout(10_000).emitWithAck("subscribe", { room: config.room })) as {
    ok: boolean;
    error?: unknown;
  };
  if (!ack.ok) throw new Error(`subscribe on ${spec.url}: ${JSON.stringify(ack.error)}`);
  const sub: Sub = {
    socket,
    node: spec.node,
    got: new Uint8Array(measureCount),
    maxSeq: -1,
    offsets: new Set(),
    minOffset: Number.POSITIVE_INFINITY,
    maxOffset: Number.NEGATIVE_INFINITY,
  };
  socket.on("message", (envelope) => onMessage(sub, envelope));
  socket.on("disconnect", () => disconnects++);
  return sub;
}

async function main() {
  const subs: Sub[] = [];
  for (const spec of config.subscribers) subs.push(await connect(spec));

  const agent = httpAgent();
  const url = new URL(config.publishUrl);
  const padding = "x".repeat(Math.max(0, config.payloadBytes - 40));
  let cpuStart = process.cpuUsage();
  let wallStart = 0;
  let measuredWallMs = 0;
  let cpuEnd = cpuStart;

  const startAt = performance.now() + 100;
  const measureStartAt = startAt + (m0 * 1000) / config.rate;
  const measureEndAt = startAt + (m1 * 1000) / config.rate;
  // The measured window is the scheduled one; its marks let the caller sample server CPU.
  setTimeout(
    () => {
      cpuStart = process.cpuUsage();
      wallStart = performance.now();
      send({ type: "mark", phase: "start" });
    },
    Math.max(0, measureStartAt - performance.now()),
  );

  await runOpenLoop({
    rate: config.rate,
    count: m1,
    startAt,
    send(seq, scheduledAt) {
      const body = JSON.stringify({
        room: config.room,
        event: "b",
        data: { s: seq, t: scheduledAt, p: padding },
      });
      const measured = seq >= m0;
      if (measured) recordMs(sendLag, performance.now() - scheduledAt);
      inFlight++;
      postJson(agent, url, config.headers, body, (status) => {
        inFlight--;
        if (status === null) httpErrors++;
        else statuses[status] = (statuses[status] ?? 0) + 1;
        if (measured) recordMs(http, performance.now() - scheduledAt);
      });
    },
  });
  // The loop returns when the last message was sent; the window ends at its scheduled time.
  await new Promise((r) => setTimeout(r, Math.max(0, measureEndAt - performance.now())));
  cpuEnd = process.cpuUsage(cpuStart);
  measuredWallMs = performance.now() - wallStart;
  send({ type: "mark", phase: "end" });

  const expected = measureCount * subs.length;
  const drainUntil = performance.now() + config.drainMs;
  while ((delivered < expected || inFlight > 0) && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 20));
  }

  const hasOffsets = subs.some((s) => s.offsets.size > 0);
  const result: GeneratorResult = {
    system: config.system,
    label: config.label,
    rate: config.rate,
    subscribers: subs.length,
    sent: measureCount,
    expected,
    delivered,
    duplicates,
    seqReorders,
    offsetGaps: hasOffsets
      ? subs.reduce((a, s) => a + (s.offsets.size ? s.maxOffset - s.minOffset + 1 - s.offsets.size : 0), 0)
      : null,
    offsetReorders: hasOffsets ? offsetReorders : null,
    latency: summarize(latency),
    latencyByNode: byNode.map(summarize),
    http: summarize(http),
    sendLag: summarize(sendLag),
    statuses,
    httpErrors,
    generatorCpu: (cpuEnd.user + cpuEnd.system) / 1000 / measuredWallMs,
    measuredWallMs,
    disconnects,
  };
  for (const s of subs) s.socket.close();
  agent.destroy();
  send({ type: "result", result });
  process.disconnect?.();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
