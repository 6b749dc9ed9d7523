import { DEBUG_EVENTS_PER_SECOND, DEBUG_PREVIEW_CHARS, type DebugEvent } from "@relaybase/protocol";
import type { Logger } from "./logger.js";

/**
 * Which apps have a console watching their debug tail somewhere in the cluster. Asked on
 * every would-be debug event, so `isWatched` is a synchronous look-up in memory; the Redis
 * implementation (redis-kit) keeps that memory current in the background.
 */
export interface DebugWatchers {
  isWatched(appId: string): boolean;
  /** This process holds a debug subscriber of the app (its first one joined). */
  hold(appId: string): void;
  /** Its last one left. */
  release(appId: string): void;
  close(): Promise<void>;
}

/** One process (embedded mode): the node's own debug subscribers are all there are. */
export class MemoryDebugWatchers implements DebugWatchers {
  readonly #held = new Map<string, number>();

  isWatched(appId: string): boolean {
    return this.#held.has(appId);
  }

  hold(appId: string): void {
    this.#held.set(appId, (this.#held.get(appId) ?? 0) + 1);
  }

  release(appId: string): void {
    const n = (this.#held.get(appId) ?? 0) - 1;
    if (n > 0) this.#held.set(appId, n);
    else this.#held.delete(appId);
  }

  async close(): Promise<void> {}
}

/** Sends one debug event to the app's debug room: this node's sockets or the cluster's. */
export type DebugSink = (appId: string, event: DebugEvent) => void | Promise<void>;

export type DebugEventBody = Omit<DebugEvent, "ts" | "node">;

export interface DebugTapOptions {
  /** Names this process in its events (`node`). */
  node: string;
  /** @default DEBUG_EVENTS_PER_SECOND */
  perSecond?: number;
  logger?: Pick<Logger, "warn">;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
  dropped: number;
}

/**
 * Where a process reports an app's traffic to its debug tail. Cheap when nobody watches:
 * `emit` takes a function that builds the event, and calls it only when the app is
 * watched and within its cap, so an unwatched app pays a Set look-up per event.
 *
 * The cap is a token bucket per app in this process (`perSecond` a second, bursts of as
 * many); events over it are counted and reported by one `dropped` event a second.
 */
export class DebugTap {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perSecond: number;
  readonly #now: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly watchers: DebugWatchers,
    private readonly sink: DebugSink,
    private readonly options: DebugTapOptions,
  ) {
    this.#perSecond = options.perSecond ?? DEBUG_EVENTS_PER_SECOND;
    this.#now = options.now ?? Date.now;
  }

  emit(appId: string, build: () => DebugEventBody): void {
    if (!this.watchers.isWatched(appId)) return;
    const now = this.#now();
    let bucket = this.#buckets.get(appId);
    if (!bucket) {
      bucket = { tokens: this.#perSecond, at: now, dropped: 0 };
      this.#buckets.set(appId, bucket);
    }
    bucket.tokens = Math.min(this.#perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) {
      bucket.dropped++;
      this.#reportDrops();
      return;
    }
    bucket.tokens--;
    this.#send(appId, { ...build(), ts: now, node: this.options.node });
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#buckets.clear();
  }

  /** Once a second while events are being dropped; stops when a second passes without. */
  #reportDrops(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      let any = false;
      for (const [appId, bucket] of this.#buckets) {
        if (bucket.dropped === 0) {
          // A full bucket holds nothing worth keeping: forget the app until its next event.
          if (bucket.tokens >= this.#perSecond) this.#buckets.delete(appId);
          continue;
        }
        any = true;
        const count = bucket.dropped;
        bucket.dropped = 0;
        if (this.watchers.isWatched(appId)) {
          this.#send(appId, { kind: "dropped", count, ts: this.#now(), node: this.options.node });
        }
      }
      if (!any) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }, 1000);
    this.#timer.unref?.();
  }

  #send(appId: string, event: DebugEvent): void {
    try {
      const pending = this.sink(appId, event);
      if (pending instanceof Promise) pending.catch((err: unknown) => this.#failed(err));
    } catch (err) {
      this.#failed(err);
    }
  }

  #failed(err: unknown): void {
    // A lost debug event must never fail what it describes.
    this.options.logger?.warn({ err }, "debug event not sent");
  }
}

/** The data's JSON for a publish's debug event, cut to DEBUG_PREVIEW_CHARS. */
export function debugPreview(data: unknown): { preview: string; truncated?: true } {
  const json = JSON.stringify(data ?? null);
  return json.length > DEBUG_PREVIEW_CHARS
    ? { preview: json.slice(0, DEBUG_PREVIEW_CHARS), truncated: true }
    : { preview: json };
}
