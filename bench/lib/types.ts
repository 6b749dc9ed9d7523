import type { LatencySummary } from "./stats.js";

export type SystemId = "relaybase" | "b2";

/** What bench/lib/generator.ts is asked to do (JSON in argv). */
export interface GeneratorConfig {
  system: SystemId;
  label: string;
  /** Sockets to open; `node` is the index of the server they are on (for the per-node split). */
  subscribers: { url: string; node: number; auth?: Record<string, string> }[];
  room: string;
  /** POST target; the body is `{ room, event, data }` for both systems. */
  publishUrl: string;
  headers: Record<string, string>;
  /** Messages per second, open loop. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** Longest wait after the last scheduled send for deliveries and responses. */
  drainMs: number;
  /** Approximate size of `data` in bytes (JSON). */
  payloadBytes: number;
}

export interface GeneratorResult {
  system: SystemId;
  label: string;
  rate: number;
  subscribers: number;
  /** Messages scheduled in the measured window. */
  sent: number;
  /** sent × subscribers. */
  expected: number;
  /** Distinct (message, subscriber) pairs of the measured window that arrived. */
  delivered: number;
  duplicates: number;
  /** Deliveries whose sequence number (send order) is below one the subscriber already had. */
  seqReorders: number;
  /** Relaybase only: offsets missing between a subscriber's lowest and highest received offset. */
  offsetGaps: number | null;
  /** Relaybase only: deliveries with an offset below one the subscriber already had. */
  offsetReorders: number | null;
  /** Scheduled send → delivery, every delivery of the measured window (µs). */
  latency: LatencySummary;
  /** The same per server the subscriber was on. */
  latencyByNode: LatencySummary[];
  /** Scheduled send → HTTP response complete (µs). */
  http: LatencySummary;
  /** Scheduled send → request handed to the socket layer (µs): the generator's own lag. */
  sendLag: LatencySummary;
  statuses: Record<string, number>;
  httpErrors: number;
  /** Generator CPU (user + system) over the measured window ÷ its wall time (1 = one core). */
  generatorCpu: number;
  measuredWallMs: number;
  disconnects: number;
}

/** What bench/lib/flooder.ts is asked to do. */
export interface FlooderConfig {
  publishUrl: string;
  headers: Record<string, string>;
  room: string;
  rate: number;
  durationMs: number;
  /** Optional subscribers of the flooding app (they count what gets through). */
  subscribers: { url: string; auth?: Record<string, string> }[];
}

export interface FlooderResult {
  sent: number;
  statuses: Record<string, number>;
  httpErrors: number;
  /** Deliveries the flooding app's own subscribers got. */
  delivered: number;
  cpu: number;
  wallMs: number;
}
