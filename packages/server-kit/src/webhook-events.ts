import { createHash } from "node:crypto";
import type { WebhookEvent, WebhookEventType, WebhookPayloads } from "@relaybase/protocol";
import { randomId } from "./keys.js";
import type { Logger } from "./logger.js";

/**
 * Where a realtime node hands the webhook events it causes (docs/webhooks.md#stores):
 * in a cluster a Redis stream the dispatcher reads (redis-kit `RedisWebhookStream`);
 * embedded, straight into the control plane's outbox (`BufferedWebhookEmitter`).
 * `emit` never throws and never blocks the cause: the emitter keeps the event until its
 * store has it.
 */
export interface WebhookEmitter {
  emit(event: WebhookEvent): void;
  close(): Promise<void>;
}

/** A new event id; made once at the source, so that a re-sent event is written once. */
export function newWebhookEventId(): string {
  return `evt_${randomId(22)}`;
}

/**
 * An event id that follows from what the event is about (e.g. app, room, epoch and offset
 * of a stored message), so that a cause seen twice (an idempotent publish retried) is
 * one event.
 */
export function derivedWebhookEventId(...parts: (string | number)[]): string {
  return `evt_${createHash("sha256").update(parts.join("\n")).digest("base64url").slice(0, 22)}`;
}

export function webhookEvent<T extends WebhookEventType>(
  type: T,
  appId: string,
  data: WebhookPayloads[T],
  at = Date.now(),
  id = newWebhookEventId(),
): WebhookEvent<T> {
  return { id, type, appId, time: new Date(at).toISOString(), data };
}

export interface BufferedWebhookEmitterOptions {
  /** Commits events (the outbox insert); rejects when it could not, and the batch is kept. */
  sink(events: WebhookEvent[]): Promise<unknown>;
  logger: Pick<Logger, "warn">;
  /** Wait before retrying a failed batch. @default 1_000 */
  retryMs?: number;
  /** Events kept while the sink fails, at most (the oldest go first, logged). @default 100_000 */
  maxBuffered?: number;
}

/**
 * The embedded emitter: events are handed to the sink in order, in batches, and kept
 * until the sink resolves (the outbox row committed). A process that dies before that
 * loses what it held, as it loses everything else in memory (docs/webhooks.md).
 */
export class BufferedWebhookEmitter implements WebhookEmitter {
  readonly #o: BufferedWebhookEmitterOptions;
  #queue: WebhookEvent[] = [];
  #flushing: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: BufferedWebhookEmitterOptions) {
    this.#o = options;
  }

  emit(event: WebhookEvent): void {
    this.#queue.push(event);
    const max = this.#o.maxBuffered ?? 100_000;
    if (this.#queue.length > max) {
      const dropped = this.#queue.splice(0, this.#queue.length - max);
      this.#o.logger.warn(
        { dropped: dropped.length },
        "webhook events dropped: the outbox refused them too long",
      );
    }
    if (!this.#retry) this.#flush();
  }

  #flush(): void {
    this.#flushing ??= (async () => {
      while (this.#queue.length > 0) {
        const batch = this.#queue.slice(0, 1_000);
        try {
          await this.#o.sink(batch);
        } catch (err) {
          this.#o.logger.warn({ err, events: batch.length }, "webhook events not stored yet (kept, retried)");
          if (!this.#closed) {
            this.#retry = setTimeout(() => {
              this.#retry = undefined;
              this.#flush();
            }, this.#o.retryMs ?? 1_000);
            this.#retry.unref();
          }
          return;
        }
        this.#queue.splice(0, batch.length);
      }
    })().finally(() => {
      this.#flushing = undefined;
    });
  }

  /** Waits for what is queued to reach the sink (one try). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    await this.#flushing;
    if (this.#queue.length > 0) {
      this.#flush();
      await this.#flushing;
    }
  }
}
