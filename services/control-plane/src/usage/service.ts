import type { Logger, UsageBatch, UsageDelta } from "@relaybase/server-kit";
import type { Database } from "../db/index.js";
import type { ControlPlaneMetrics } from "./metrics.js";
import { type QuotaWarning, UsageRollup } from "./rollup.js";

/** Pending usage in Redis (redis-kit `RedisUsage`): what the nodes and REST instances flushed. */
export interface PendingUsage {
  take(maxKeys?: number): Promise<{ id: string; deltas: UsageDelta[] } | undefined>;
  staleClaims(olderThan: number): Promise<string[]>;
  reclaim(id: string, notAfter: number): Promise<{ id: string; deltas: UsageDelta[] } | undefined>;
  release(id: string): Promise<void>;
}

export interface UsageSources {
  /** Distributed mode: usage flushed to Redis. Embedded: unset, the meter calls `record`. */
  pending?: PendingUsage;
  /** Connections per app now, across the cluster (peak connections are sampled at each rollup). */
  connectionCounts?: () => Promise<Map<string, number>>;
}

export interface UsageServiceOptions extends UsageSources {
  db: Database;
  logger: Logger;
  metrics: ControlPlaneMetrics;
  /** Rollup period (USAGE_ROLLUP_MS). */
  rollupMs: number;
  /** A claim older than this was left by a rollup that died; another takes it over. @default 120_000 */
  staleClaimMs?: number;
  /** An app reached 80% of its daily quota (once per app and day): the webhook event. */
  onQuotaWarning?: (warning: QuotaWarning) => Promise<unknown>;
  /** The clock: which hour a sampled peak belongs to. @default Date.now */
  now?: () => number;
}

/** Claims taken per rollup at most (each holds up to 1 000 app-hours). */
const MAX_CLAIMS_PER_ROLLUP = 20;

/**
 * Rolls usage into Postgres: every `rollupMs` it takes the pending deltas from Redis
 * (atomically, as a claim it releases once committed), samples connections for the
 * hour's peak, and upserts. Embedded, the node's meter hands its batches to `record`.
 * Nothing is dropped on a failure: a claim not committed is retried (by this process
 * next round, or by another once stale); a batch `record` refused stays in the meter.
 */
export class UsageService {
  readonly #rollup: UsageRollup;
  readonly #options: UsageServiceOptions;
  readonly #staleClaimMs: number;
  /** Claims this process took but did not commit (retry them first). */
  readonly #uncommitted = new Set<string>();
  /** Claims committed to Postgres but not yet released in Redis (release only, never re-apply). */
  readonly #unreleased = new Set<string>();
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  readonly #now: () => number;

  constructor(options: UsageServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#staleClaimMs = options.staleClaimMs ?? 120_000;
    this.#rollup = new UsageRollup(options.db, options.logger, options.metrics, options.onQuotaWarning);
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.rollup().catch(() => {}), this.#options.rollupMs);
    this.#timer.unref();
  }

  /** The embedded meter's sink: writes a batch straight into Postgres (rejects on failure; the meter keeps it). */
  record(batch: UsageBatch): Promise<void> {
    return this.#serial(async () => {
      await this.#rollup.apply(batch.deltas, await this.#sampleConnections(), this.#now());
    });
  }

  /** One rollup now (also on the timer). Rejects when part of it failed; what failed is retried. */
  rollup(): Promise<void> {
    return this.#serial(() => this.#rollupOnce());
  }

  /** Stops the timer and runs a last rollup. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.rollup().catch(() => {});
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#chain.catch(() => {}).then(task);
    this.#chain = run;
    return run;
  }

  async #rollupOnce(): Promise<void> {
    const { pending, metrics, logger } = this.#options;
    try {
      let peaks = await this.#sampleConnections();
      if (pending) {
        for (const id of this.#unreleased) {
          await pending.release(id);
          this.#unreleased.delete(id);
        }
        const cutoff = Date.now() - this.#staleClaimMs;
        const retry = new Set([...this.#uncommitted, ...(await pending.staleClaims(cutoff))]);
        for (const id of retry) {
          const mine = this.#uncommitted.has(id);
          const claim = await pending.reclaim(id, mine ? Infinity : cutoff);
          if (!claim) {
            this.#uncommitted.delete(id);
            continue;
          }
          if (!mine) logger.warn({ claim: id }, "taking over a stale usage claim");
          await this.#commit(pending, claim, peaks);
          peaks = undefined;
        }
        for (let i = 0; i < MAX_CLAIMS_PER_ROLLUP; i++) {
          const claim = await pending.take(1_000);
          if (!claim) break;
          await this.#commit(pending, claim, peaks);
          peaks = undefined;
        }
      }
      if (peaks) await this.#rollup.apply([], peaks, this.#now());
      metrics.usageRollups.inc({ result: "ok" });
    } catch (err) {
      metrics.usageRollups.inc({ result: "error" });
      logger.warn({ err }, "usage rollup failed (kept; retried next round)");
      throw err;
    }
  }

  async #commit(
    pending: PendingUsage,
    claim: { id: string; deltas: UsageDelta[] },
    peaks: Map<string, number> | undefined,
  ): Promise<void> {
    this.#uncommitted.add(claim.id);
    await this.#rollup.apply(claim.deltas, peaks, this.#now());
    this.#uncommitted.delete(claim.id);
    this.#unreleased.add(claim.id);
    await pending.release(claim.id);
    this.#unreleased.delete(claim.id);
  }

  async #sampleConnections(): Promise<Map<string, number> | undefined> {
    const sample = this.#options.connectionCounts;
    if (!sample) return undefined;
    try {
      return await sample();
    } catch (err) {
      this.#options.logger.warn({ err }, "could not sample connection counts for usage peaks");
      return undefined;
    }
  }
}
