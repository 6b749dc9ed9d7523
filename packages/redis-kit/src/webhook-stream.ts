import { randomUUID } from "node:crypto";
import type { WebhookEvent } from "@relaybase/protocol";
import type { WebhookEmitter } from "@relaybase/server-kit";
import { ErrorReply } from "redis";
import { LuaScript, type RedisClient, type Reply, rawCall, type WarnLogger } from "./client.js";

/**
 * Webhook events on their way from realtime nodes to the dispatcher (docs/webhooks.md#stores):
 * one Redis stream, `{rb:wh}:events`, read by the dispatchers as one consumer group. A
 * dispatcher writes what it read into the Postgres outbox and only then acknowledges
 * it, so a dispatcher killed in between leaves the entries pending for another (or
 * itself after a restart) to claim.
 *
 * Redis here runs without persistence: a restart loses entries not yet read. Each node
 * therefore keeps what it wrote for `resendWindowMs`, and writes it again when it finds
 * Redis emptied (the `{rb:wh}:epoch` value it wrote with its events has changed); the
 * outbox keeps one row per event id, so a copy already ingested changes nothing.
 */
const TAG = "{rb:wh}:";
const GROUP = "dispatchers";

// KEYS: stream, epoch. ARGV: a new epoch (used if there is none), max length, events JSON...
// Returns the epoch the events were written under.
const ADD = new LuaScript(`
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
for i = 3, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[i])
end
return epoch
`);

export interface RedisWebhookStreamOptions {
  /** Key prefix. @default "" */
  prefix?: string;
  /** How long a node keeps what it wrote, to write it again after Redis lost it. @default 120_000 */
  resendWindowMs?: number;
  /** How often the node looks for a lost stream. @default 1_000 */
  checkMs?: number;
  /** Entries the stream keeps at most (approximately) when no dispatcher reads. @default 1_000_000 */
  maxLen?: number;
  /** Events kept waiting at most while Redis is away (the oldest go first, logged). @default 100_000 */
  maxPending?: number;
  commandTimeoutMs?: number;
  logger?: WarnLogger;
}

/** The realtime node's side: `emit` never throws; events wait in memory while Redis is away. */
export class RedisWebhookStream implements WebhookEmitter {
  readonly #redis: RedisClient;
  readonly #keys: [string, string];
  readonly #o: Required<Omit<RedisWebhookStreamOptions, "prefix" | "logger">> & { logger?: WarnLogger };
  #pending: WebhookEvent[] = [];
  /** Written, with the epoch they were written under and when. */
  #sent: { event: WebhookEvent; epoch: string; at: number }[] = [];
  #epoch: string | undefined;
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout;
  #closed = false;

  constructor(redis: RedisClient, options: RedisWebhookStreamOptions = {}) {
    this.#redis = redis;
    const prefix = options.prefix ?? "";
    this.#keys = [`${prefix}${TAG}events`, `${prefix}${TAG}epoch`];
    this.#o = {
      resendWindowMs: options.resendWindowMs ?? 120_000,
      checkMs: options.checkMs ?? 1_000,
      maxLen: options.maxLen ?? 1_000_000,
      maxPending: options.maxPending ?? 100_000,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      ...(options.logger ? { logger: options.logger } : {}),
    };
    this.#timer = setInterval(() => this.#flush(), this.#o.checkMs);
    this.#timer.unref();
  }

  emit(event: WebhookEvent): void {
    if (this.#closed) return;
    this.#pending.push(event);
    if (this.#pending.length > this.#o.maxPending) {
      const dropped = this.#pending.splice(0, this.#pending.length - this.#o.maxPending);
      this.#o.logger?.warn({ dropped: dropped.length }, "webhook events dropped: Redis unreachable too long");
    }
    queueMicrotask(() => this.#flush());
  }

  /** Events waiting for Redis (metrics, tests). */
  get pending(): number {
    return this.#pending.length;
  }

  #flush(): void {
    this.#flushing ??= this.#write()
      .catch((err: unknown) =>
        this.#o.logger?.warn({ err }, "webhook events not written to Redis yet (kept)"),
      )
      .finally(() => {
        this.#flushing = undefined;
      });
  }

  async #write(): Promise<void> {
    const now = Date.now();
    const cutoff = now - this.#o.resendWindowMs;
    while (this.#sent.length > 0 && this.#sent[0]!.at < cutoff) this.#sent.shift();
    // Also when nothing waits: the call tells whether Redis lost the stream.
    do {
      const batch = this.#pending.slice(0, 500);
      const epoch = String(
        await ADD.run(
          this.#redis,
          this.#keys,
          [randomUUID(), String(this.#o.maxLen), ...batch.map((e) => JSON.stringify(e))],
          this.#o.commandTimeoutMs,
        ),
      );
      this.#pending.splice(0, batch.length);
      if (this.#epoch !== undefined && epoch !== this.#epoch) {
        // Redis was emptied: what was written before may never have been read.
        const lost = this.#sent.filter((s) => s.epoch !== epoch).map((s) => s.event);
        this.#sent = this.#sent.filter((s) => s.epoch === epoch);
        if (lost.length > 0) {
          this.#o.logger?.warn(
            { events: lost.length },
            "Redis lost the webhook stream; writing recent events again",
          );
          this.#pending.unshift(...lost);
        }
      }
      this.#epoch = epoch;
      for (const event of batch) this.#sent.push({ event, epoch, at: now });
    } while (this.#pending.length > 0 && !this.#closed);
  }

  /** Writes what waits (one try) and stops. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#flushing;
    if (this.#pending.length > 0) {
      this.#flush();
      await this.#flushing;
    }
    this.#closed = true;
  }
}

export interface RedisWebhookConsumerOptions {
  prefix?: string;
  /** This dispatcher's name in the group. @default a random UUID */
  consumer?: string;
  /** Entries read per call. @default 500 */
  count?: number;
  /** @default 1_000 */
  blockMs?: number;
  /** An entry read by a consumer that has not acknowledged it for this long is taken over. @default 30_000 */
  claimIdleMs?: number;
  logger?: WarnLogger;
}

type Entry = [id: string, fields: string[]];

/**
 * The dispatcher's side. Needs a client of its own (reads block). `handler` must resolve
 * only once the events are committed (the outbox insert); then they are acknowledged.
 */
export class RedisWebhookConsumer {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #o: Required<Omit<RedisWebhookConsumerOptions, "prefix" | "logger">> & { logger?: WarnLogger };
  #running: Promise<void> | undefined;
  #stopped = false;
  #lastClaim = 0;

  constructor(redis: RedisClient, options: RedisWebhookConsumerOptions = {}) {
    this.#redis = redis;
    this.#key = `${options.prefix ?? ""}${TAG}events`;
    this.#o = {
      consumer: options.consumer ?? randomUUID(),
      count: options.count ?? 500,
      blockMs: options.blockMs ?? 1_000,
      claimIdleMs: options.claimIdleMs ?? 30_000,
      ...(options.logger ? { logger: options.logger } : {}),
    };
  }

  start(handler: (events: WebhookEvent[]) => Promise<unknown>): void {
    this.#running ??= this.#loop(handler);
  }

  async #loop(handler: (events: WebhookEvent[]) => Promise<unknown>): Promise<void> {
    let own = true; // first, whatever this consumer read and did not acknowledge
    let groupReady = false;
    while (!this.#stopped) {
      try {
        if (!groupReady) {
          await this.#ensureGroup();
          groupReady = true;
        }
        let entries: Entry[];
        if (Date.now() - this.#lastClaim > this.#o.claimIdleMs / 2) {
          this.#lastClaim = Date.now();
          entries = await this.#claimStale();
        } else {
          entries = await this.#read(own ? "0" : ">");
          if (own && entries.length === 0) own = false;
        }
        if (entries.length === 0) continue;
        await handler(entries.flatMap(([id, fields]) => this.#parse(id, fields)));
        await rawCall(this.#redis, ["XACK", this.#key, GROUP, ...entries.map(([id]) => id)], 5_000);
        await rawCall(this.#redis, ["XDEL", this.#key, ...entries.map(([id]) => id)], 5_000);
      } catch (err) {
        if (err instanceof ErrorReply && err.message.startsWith("NOGROUP")) groupReady = false;
        else this.#o.logger?.warn({ err }, "reading webhook events from Redis failed (retried)");
        // Unacknowledged entries are read again from this consumer's pending list.
        own = true;
        if (!this.#stopped) await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  async #ensureGroup(): Promise<void> {
    try {
      // From 0: entries a node wrote before the group existed (Redis just restarted) are read too.
      await rawCall(this.#redis, ["XGROUP", "CREATE", this.#key, GROUP, "0", "MKSTREAM"], 5_000);
    } catch (err) {
      if (!(err instanceof ErrorReply && err.message.startsWith("BUSYGROUP"))) throw err;
    }
  }

  async #read(id: string): Promise<Entry[]> {
    const reply = (await rawCall(
      this.#redis,
      [
        "XREADGROUP",
        "GROUP",
        GROUP,
        this.#o.consumer,
        "COUNT",
        String(this.#o.count),
        ...(id === ">" ? ["BLOCK", String(this.#o.blockMs)] : []),
        "STREAMS",
        this.#key,
        id,
      ],
      this.#o.blockMs + 5_000,
    )) as [string, Entry[]][] | null;
    return (reply?.[0]?.[1] ?? []).filter((e) => Array.isArray(e[1]));
  }

  /** Entries another consumer (a dispatcher that died) read and never acknowledged. */
  async #claimStale(): Promise<Entry[]> {
    const reply = (await rawCall(
      this.#redis,
      [
        "XAUTOCLAIM",
        this.#key,
        GROUP,
        this.#o.consumer,
        String(this.#o.claimIdleMs),
        "0-0",
        "COUNT",
        String(this.#o.count),
      ],
      5_000,
    )) as Reply[];
    return ((reply[1] as Entry[] | undefined) ?? []).filter((e) => Array.isArray(e[1]));
  }

  #parse(id: string, fields: string[]): WebhookEvent[] {
    try {
      const event = JSON.parse(fields[1] ?? "") as WebhookEvent;
      if (
        typeof event?.id === "string" &&
        typeof event.appId === "string" &&
        typeof event.type === "string"
      ) {
        return [event];
      }
    } catch {
      // fall through
    }
    this.#o.logger?.warn({ id }, "unreadable webhook stream entry skipped");
    return [];
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}
