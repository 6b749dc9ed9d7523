import { type MessageEnvelope, messageSize } from "@relaybase/protocol";
import { randomId } from "./keys.js";

/**
 * Usage metering (DESIGN §6): a message counts once when published and once per
 * delivery (one per recipient socket), as Pusher and Ably count. Each process adds up
 * locally, per app and UTC hour, and hands the deltas to a sink every `flushMs`: Redis in
 * a cluster (the control plane rolls it into Postgres), the control plane itself when
 * embedded. Bytes are those of the message's `data` as JSON (the measure of the message
 * size limit), not protocol framing.
 */

export const HOUR_MS = 3_600_000;

/** Start of the UTC hour `ms` falls in, in ms since the epoch. */
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

export interface UsageCounts {
  published: number;
  delivered: number;
  bytesPublished: number;
  bytesDelivered: number;
}

/** What one app did in one UTC hour since the last flush. */
export interface UsageDelta extends UsageCounts {
  appId: string;
  /** Start of the UTC hour, ms since the epoch. */
  hour: number;
}

/**
 * One flush. `id` stays the same when a failed flush is tried again, so a sink whose
 * write may have landed despite the error (a timeout) can apply each batch once.
 */
export interface UsageBatch {
  id: string;
  deltas: UsageDelta[];
}

export type UsageSink = (batch: UsageBatch) => Promise<void>;

/** What the publish path reports (`Publisher`'s optional observer). */
export interface PublishObserver {
  published(appId: string, bytes: number): void;
}

export interface UsageMeterOptions {
  sink: UsageSink;
  /** Flush timer period; 0 or undefined: no timer (call `flush()`). */
  flushMs?: number;
  /** Clock (tests). @default Date.now */
  now?: () => number;
  /** Told when a flush fails (the deltas are kept and sent with the next one). */
  onError?: (err: unknown) => void;
}

const zero = (): UsageCounts => ({ published: 0, delivered: 0, bytesPublished: 0, bytesDelivered: 0 });

export class UsageMeter implements PublishObserver {
  readonly #sink: UsageSink;
  readonly #now: () => number;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #timer: NodeJS.Timeout | undefined;
  /** hour → app → counts, since the last flush. */
  #live = new Map<number, Map<string, UsageCounts>>();
  /** A batch whose flush failed; sent again, under the same id, before anything newer. */
  #unsent: UsageBatch | undefined;
  #flushing: Promise<void> = Promise.resolve();
  /** Byte size of `data` per delivered envelope object: one JSON encoding per fan-out, not per socket. */
  readonly #envelopeBytes = new WeakMap<object, number>();
  #closed = false;

  constructor(options: UsageMeterOptions) {
    this.#sink = options.sink;
    this.#now = options.now ?? Date.now;
    this.#onError = options.onError;
    if (options.flushMs && options.flushMs > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => {}), options.flushMs);
      this.#timer.unref();
    }
  }

  /** A message stored by the publish path (not a repeated id). */
  published(appId: string, bytes: number): void {
    const c = this.#counts(appId);
    c.published += 1;
    c.bytesPublished += bytes;
  }

  /** A message sent to `count` sockets (one by default). */
  delivered(appId: string, bytes: number, count = 1): void {
    const c = this.#counts(appId);
    c.delivered += count;
    c.bytesDelivered += bytes * count;
  }

  /** `delivered` for an envelope sent to `count` sockets; its size is computed once per envelope object. */
  deliveredEnvelope(appId: string, envelope: MessageEnvelope, count = 1): void {
    let bytes = this.#envelopeBytes.get(envelope);
    if (bytes === undefined) {
      bytes = messageSize(envelope.data);
      this.#envelopeBytes.set(envelope, bytes);
    }
    this.delivered(appId, bytes, count);
  }

  /** Deltas not yet handed to the sink (including a failed batch), without taking them. */
  pending(): UsageDelta[] {
    const merged = new Map<string, UsageDelta>();
    const add = (d: UsageDelta) => {
      const key = `${d.hour}:${d.appId}`;
      const m = merged.get(key);
      if (!m) merged.set(key, { ...d });
      else {
        m.published += d.published;
        m.delivered += d.delivered;
        m.bytesPublished += d.bytesPublished;
        m.bytesDelivered += d.bytesDelivered;
      }
    };
    for (const d of this.#unsent?.deltas ?? []) add(d);
    for (const d of toDeltas(this.#live)) add(d);
    return [...merged.values()];
  }

  /**
   * Hands the deltas to the sink and starts afresh. A failed flush keeps them (as one
   * batch with the same id) for the next call and rejects. Flushes never overlap.
   */
  flush(): Promise<void> {
    const run = this.#flushing.catch(() => {}).then(() => this.#flushOnce());
    this.#flushing = run;
    return run;
  }

  /** Stops the timer and flushes what is left (rejects if that flush fails). */
  async close(): Promise<void> {
    if (this.#closed) return this.#flushing.catch(() => {});
    this.#closed = true;
    clearInterval(this.#timer);
    await this.flush();
  }

  async #flushOnce(): Promise<void> {
    if (this.#unsent) {
      await this.#send(this.#unsent);
      this.#unsent = undefined;
    }
    if (this.#live.size === 0) return;
    const batch: UsageBatch = { id: randomId(16), deltas: toDeltas(this.#live) };
    this.#live = new Map();
    this.#unsent = batch;
    await this.#send(batch);
    this.#unsent = undefined;
  }

  async #send(batch: UsageBatch): Promise<void> {
    try {
      await this.#sink(batch);
    } catch (err) {
      this.#onError?.(err);
      throw err;
    }
  }

  #counts(appId: string): UsageCounts {
    const hour = hourOf(this.#now());
    let apps = this.#live.get(hour);
    if (!apps) {
      apps = new Map();
      this.#live.set(hour, apps);
    }
    let c = apps.get(appId);
    if (!c) {
      c = zero();
      apps.set(appId, c);
    }
    return c;
  }
}

function toDeltas(live: Map<number, Map<string, UsageCounts>>): UsageDelta[] {
  const out: UsageDelta[] = [];
  for (const [hour, apps] of live) for (const [appId, c] of apps) out.push({ appId, hour, ...c });
  return out;
}
