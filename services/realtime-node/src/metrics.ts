import type { ErrorCode, MessageEnvelope } from "@relaybase/protocol";
import { LIMIT_CODES, type Logger, PublishMetrics, Registry } from "@relaybase/server-kit";
import { Counter, Gauge, Histogram } from "prom-client";
import type { Namespace } from "socket.io";
import type { RealtimeServer, RealtimeSocket } from "./types.js";

/** Buckets of publish → delivery: 1 ms to 10 s (a cluster adds a Redis round trip and the stream read). */
const DELIVERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The realtime node's series (docs/self-hosting.md#metrics-and-alerts). app.ts calls it
 * from a few places; everything Prometheus-specific stays here.
 */
export class RealtimeNodeMetrics extends PublishMetrics {
  readonly connections: Gauge<"app">;
  readonly handshakes: Counter<"result">;
  readonly handshakeRefusals: Counter<"code">;
  readonly delivered: Counter<"app">;
  readonly deliveryLatency: Histogram;
  readonly #pendingDeliveries = new Map<string, number>();

  constructor(registry: Registry = new Registry(), maxApps?: number) {
    super(registry, maxApps);
    const registers = [registry];
    this.connections = new Gauge({
      name: "relaybase_connections",
      help: "Client connections open on this node, by app.",
      labelNames: ["app"] as const,
      registers,
    });
    this.handshakes = new Counter({
      name: "relaybase_handshakes_total",
      help: "Connection handshakes checked by this node, by result (accepted, refused).",
      labelNames: ["result"] as const,
      registers,
    });
    this.handshakeRefusals = new Counter({
      name: "relaybase_handshake_refusals_total",
      help: "Connection handshakes refused, by error code (docs/errors.md).",
      labelNames: ["code"] as const,
      registers,
    });
    const pending = this.#pendingDeliveries;
    this.delivered = new Counter({
      name: "relaybase_messages_delivered_total",
      help: "Messages emitted to client connections on this node (one per recipient), by app.",
      labelNames: ["app"] as const,
      registers,
      // Counted per recipient in a plain map (a labelled inc per delivery was measurable
      // in fan-out profiles) and added to the counter when it is read.
      collect() {
        for (const [app, n] of pending) this.inc({ app }, n);
        pending.clear();
      },
    });
    this.deliveryLatency = new Histogram({
      name: "relaybase_publish_delivery_seconds",
      help:
        "From a message's publish (its ts, taken before it is stored) to its emission to the connections on this " +
        "node: history write, fan-out and, in a cluster, the adapter stream. One observation per message per node " +
        "(its recipients on a node are written in one loop).",
      buckets: DELIVERY_BUCKETS,
      registers,
    });
  }

  handshakeAccepted(socket: RealtimeSocket): void {
    this.handshakes.inc({ result: "accepted" });
    this.connections.inc({ app: this.apps.of(socket.data.appId) });
  }

  /** The socket's `disconnect`. Its app keeps its label (`apps.of` gives a labelled app the same one). */
  connectionClosed(socket: RealtimeSocket): void {
    this.connections.dec({ app: this.apps.of(socket.data.appId) });
  }

  /**
   * A refused handshake. The app is known only for limit codes (the key was good); it is
   * looked up (from the directory's cache) only then.
   */
  handshakeRefused(code: ErrorCode, appIdOf: () => Promise<string | undefined>, logger: Logger): void {
    this.handshakes.inc({ result: "refused" });
    this.handshakeRefusals.inc({ code });
    if (!LIMIT_CODES.has(code)) return;
    appIdOf().then(
      (appId) => this.refused(appId, code),
      (err: unknown) => logger.debug({ err }, "app of a refused handshake not found for metrics"),
    );
  }

  /** One packet emitted to `count` sockets of this node (`DeliveryTally`, from `onAnyOutgoing`). */
  countDelivered(appId: string, event: string, envelope: MessageEnvelope, count: number): void {
    if (event !== "message") return;
    const app = this.apps.of(appId);
    this.#pendingDeliveries.set(app, (this.#pendingDeliveries.get(app) ?? 0) + count);
    if (typeof envelope.ts === "number") {
      this.deliveryLatency.observe(Math.max(0, Date.now() - envelope.ts) / 1000);
    }
  }
}

/** The commands of `observeAdapterLag` (a node-redis v4 client). */
interface LagRedis {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  xRevRange(key: string, end: string, start: string, options: { COUNT: number }): Promise<{ id: string }[]>;
}

/** Entries after an id, counted inside Redis (only the count crosses the network), at most ARGV[2]. */
const COUNT_AFTER = "return #redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))";
const LAG_TIMEOUT_MS = 2_000;

/**
 * `relaybase_adapter_stream_lag_entries`: how many entries of the adapter's stream this
 * node has not read yet. The adapter keeps its read offset inside a closure; it hands
 * every entry it reads to its namespace adapter's `onRawMessage(message, offset)`, so
 * wrapping that method on each namespace records how far it got (pinned to
 * @socket.io/redis-streams-adapter 0.3.1, which the realtime node pins exactly). At each
 * scrape a one-line Lua script counts the entries after that offset in Redis, capped at
 * `maxLen` (entries beyond it are trimmed anyway), so a scrape costs one round trip and,
 * when the node is caught up, a nearly empty XRANGE.
 *
 * Until the node reads its first entry its position is the stream's head when this was
 * called (the adapter starts reading at `$`).
 */
export async function observeAdapterLag(
  io: RealtimeServer,
  redis: LagRedis,
  registry: Registry,
  options: { streamName?: string; maxLen: number; logger: Logger },
): Promise<void> {
  const stream = options.streamName ?? "socket.io";
  let position = (await redis.xRevRange(stream, "+", "-", { COUNT: 1 }))[0]?.id ?? "0-0";
  const note = (offset: unknown) => {
    if (typeof offset === "string" && compareStreamIds(offset, position) > 0) position = offset;
  };
  const wrap = (nsp: Namespace) => {
    const adapter = nsp.adapter as unknown as { onRawMessage?: (message: unknown, offset: unknown) => void };
    const original = adapter.onRawMessage;
    if (typeof original !== "function") return;
    adapter.onRawMessage = (message, offset) => {
      note(offset);
      original.call(adapter, message, offset);
    };
  };
  for (const nsp of (io as unknown as { _nsps: Map<string, Namespace> })._nsps.values()) wrap(nsp);
  io.on("new_namespace", wrap);

  new Gauge({
    name: "relaybase_adapter_stream_lag_entries",
    help: "Entries of the shared adapter stream after this node's read position (capped at ADAPTER_MAX_LEN).",
    registers: [registry],
    async collect() {
      let timer: NodeJS.Timeout | undefined;
      try {
        const count = await Promise.race([
          redis.eval(COUNT_AFTER, { keys: [stream], arguments: [position, String(options.maxLen)] }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("Redis did not answer")), LAG_TIMEOUT_MS);
          }),
        ]);
        this.set(Number(count));
      } catch (err) {
        // Keep the last value: a scrape must not fail because Redis is slow (readiness says so).
        options.logger.warn({ err }, "adapter stream lag not measured");
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
export function compareStreamIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms > 0n ? 1 : -1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq > 0n ? 1 : -1;
}
