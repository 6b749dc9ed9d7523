import type { WebhookEvent } from "@relaybase/protocol";
import { type Logger, randomId } from "@relaybase/server-kit";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { ControlPlaneConfig } from "../config.js";
import type { Database } from "../db/index.js";
import { appNotices, webhookAttempts, webhookDeliveries } from "../db/schema.js";
import { loadAppRuntimes } from "../tenants.js";
import { dayOf } from "../usage/rollup.js";
import {
  type ClaimedEndpoint,
  claimEndpoints,
  extendLease,
  ingestEvents,
  nextBatch,
  releaseEndpoint,
  rows,
} from "./outbox.js";
import { retryDelayMs } from "./schedule.js";
import { type SendResult, sendWebhook } from "./sender.js";
import { signatureHeaders } from "./signing.js";
import type { HostLookup } from "./url-safety.js";

export type DispatcherConfig = Pick<
  ControlPlaneConfig,
  | "WEBHOOK_ALLOW_HTTP"
  | "WEBHOOK_ALLOW_PRIVATE_URLS"
  | "WEBHOOK_TIMEOUT_MS"
  | "WEBHOOK_MAX_RESPONSE_BYTES"
  | "WEBHOOK_RETRY_SCHEDULE_MS"
  | "WEBHOOK_DISABLE_AFTER_MS"
  | "WEBHOOK_LEASE_MS"
  | "WEBHOOK_POLL_MS"
  | "WEBHOOK_BATCH_MAX"
  | "WEBHOOK_CONCURRENCY"
>;

export interface DispatcherOptions {
  db: Database;
  config: DispatcherConfig;
  logger: Logger;
  /** Name resolution for delivery-time checks (tests: a fixed table). @default the system resolver */
  lookup?: HostLookup;
  /** An endpoint was disabled by the dispatcher: the app's directory record must follow. */
  onEndpointDisabled?: (appId: string) => void;
}

/** The delivery log is kept this long (then finished rows and attempts are deleted). */
export const WEBHOOK_LOG_RETENTION_MS = 7 * 86_400_000;
/** Batches one claim sends at most before giving the endpoint back (fairness between endpoints). */
const BATCHES_PER_CLAIM = 20;
const CLEANUP_EVERY_MS = 3_600_000;
/** How long an app's per-second limit is cached. */
const LIMIT_CACHE_MS = 10_000;

/**
 * Delivers the outbox (docs/webhooks.md): claims endpoints whose oldest pending event is
 * due, sends their oldest pending events in order (batched, one request in flight per
 * endpoint), and records each attempt. Nothing is marked delivered before a 2xx, so a
 * dispatcher killed at any point leaves its in-flight events pending under a lease that
 * lapses: they are sent again (at least once, maybe twice). Several dispatchers may run
 * against one database; leases and SKIP LOCKED share the endpoints between them.
 */
export class WebhookDispatcher {
  readonly #o: DispatcherOptions;
  readonly #token = `dsp_${randomId(16)}`;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #sentThisSecond = new Map<string, { second: number; n: number }>();
  readonly #limits = new Map<string, { perSecond: number; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #wakeTimer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #lastCleanup = 0;
  #closed = false;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  /** Writes events into the outbox (idempotent by event id) and wakes the loop. Rejects when the database does. */
  async ingest(events: WebhookEvent[]): Promise<number> {
    const written = await ingestEvents(this.#o.db, events);
    if (written > 0) this.wake();
    return written;
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.wake(), this.#o.config.WEBHOOK_POLL_MS);
    this.#timer.unref();
    this.wake();
  }

  /** Looks for due deliveries now (after ingestion, a replay, a finished batch). */
  wake(): void {
    if (this.#closed || this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#ticking ??= this.#tick().finally(() => {
        this.#ticking = undefined;
      });
    }, 0);
  }

  /** Stops claiming and waits for the requests in flight to be recorded. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#wakeTimer);
    await this.#ticking;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #tick(): Promise<void> {
    try {
      const free = this.#o.config.WEBHOOK_CONCURRENCY - this.#inFlight.size;
      if (free <= 0 || this.#closed) return;
      const claimed = await claimEndpoints(this.#o.db, free, this.#o.config.WEBHOOK_LEASE_MS, this.#token);
      for (const endpoint of claimed) {
        const work = this.#work(endpoint)
          .catch((err: unknown) => {
            this.#o.logger.warn({ err, endpointId: endpoint.id }, "webhook delivery round failed (retried)");
            return false;
          })
          .then((again) => {
            this.#inFlight.delete(work);
            // A rate-limited or failing endpoint waits for the poll timer, not a busy loop.
            if (again) this.wake();
          });
        this.#inFlight.add(work);
      }
      await this.#cleanup();
    } catch (err) {
      this.#o.logger.warn({ err }, "webhook dispatcher round failed (retried)");
    }
  }

  /** Sends batches to one endpoint; true when it may have more due right away. */
  async #work(endpoint: ClaimedEndpoint): Promise<boolean> {
    const { db, config } = this.#o;
    try {
      for (let i = 0; i < BATCHES_PER_CLAIM && !this.#closed; i++) {
        if (!(await this.#takeRate(endpoint.appId))) return false;
        const batch = await nextBatch(db, endpoint.id, config.WEBHOOK_BATCH_MAX);
        if (batch.length === 0) return false;
        const body = JSON.stringify({ events: batch.map((d) => d.event) });
        const requestId = `msg_${randomId(20)}`;
        const result = await sendWebhook(endpoint.url, signatureHeaders(endpoint, requestId, body), body, {
          allowHttp: config.WEBHOOK_ALLOW_HTTP,
          allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_URLS,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          maxResponseBytes: config.WEBHOOK_MAX_RESPONSE_BYTES,
          ...(this.#o.lookup ? { lookup: this.#o.lookup } : {}),
        });
        const disabled = await this.#record(endpoint, batch, requestId, result);
        if (disabled) this.#o.onEndpointDisabled?.(endpoint.appId);
        // A failure puts the head of the queue into backoff: nothing newer may pass it.
        if (!result.ok || disabled) return false;
        if (!(await extendLease(db, endpoint.id, this.#token, config.WEBHOOK_LEASE_MS))) return false;
      }
      return true;
    } finally {
      await releaseEndpoint(db, endpoint.id, this.#token);
    }
  }

  /** Records the attempt for every delivery of the batch; returns true when it disabled the endpoint. */
  async #record(
    endpoint: ClaimedEndpoint,
    batch: { id: string; attempts: number }[],
    requestId: string,
    result: SendResult,
  ): Promise<boolean> {
    const { config } = this.#o;
    const ids = batch.map((d) => d.id);
    const last = {
      lastAttemptAt: sql`now()`,
      lastStatusCode: result.statusCode,
      lastLatencyMs: result.latencyMs,
      lastError: result.error,
      lastResponse: result.response,
    };
    return this.#o.db.transaction(async (tx) => {
      await tx.insert(webhookAttempts).values(
        batch.map((d) => ({
          id: `wha_${randomId(20)}`,
          deliveryId: d.id,
          requestId,
          statusCode: result.statusCode,
          latencyMs: result.latencyMs,
          error: result.error,
          response: result.response,
          batchSize: batch.length,
        })),
      );
      if (result.ok) {
        await tx
          .update(webhookDeliveries)
          .set({
            ...last,
            status: "delivered",
            attempts: sql`${webhookDeliveries.attempts} + 1`,
            deliveredAt: sql`now()`,
          })
          .where(and(inArray(webhookDeliveries.id, ids), eq(webhookDeliveries.status, "pending")));
        await tx.execute(sql`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${endpoint.id}`);
        return false;
      }
      // Grouped by attempts so far: each group has one next delay (or is dead-lettered).
      const byAttempts = new Map<number, string[]>();
      for (const d of batch) byAttempts.set(d.attempts, [...(byAttempts.get(d.attempts) ?? []), d.id]);
      for (const [attempts, group] of byAttempts) {
        const delay = retryDelayMs(config.WEBHOOK_RETRY_SCHEDULE_MS, attempts + 1);
        await tx
          .update(webhookDeliveries)
          .set({
            ...last,
            attempts: sql`${webhookDeliveries.attempts} + 1`,
            ...(delay === undefined
              ? { status: "dead" as const }
              : { nextAttemptAt: sql`now() + ${delay} * interval '1 millisecond'` }),
          })
          .where(and(inArray(webhookDeliveries.id, group), eq(webhookDeliveries.status, "pending")));
      }
      const reason = `Every request failed for ${duration(config.WEBHOOK_DISABLE_AFTER_MS)} (last: ${result.error}).`;
      const [after] = await rows<{ enabled: boolean; disabled_reason: string | null }>(
        tx as unknown as Database,
        sql`UPDATE webhook_endpoints SET
            enabled = CASE WHEN failing_since IS NOT NULL
              AND now() - failing_since >= ${config.WEBHOOK_DISABLE_AFTER_MS} * interval '1 millisecond'
              THEN false ELSE enabled END,
            disabled_reason = CASE WHEN failing_since IS NOT NULL
              AND now() - failing_since >= ${config.WEBHOOK_DISABLE_AFTER_MS} * interval '1 millisecond'
              THEN ${reason} ELSE disabled_reason END,
            failing_since = coalesce(failing_since, now()),
            updated_at = now()
          WHERE id = ${endpoint.id}
          RETURNING enabled, disabled_reason`,
      );
      const disabled = after !== undefined && !after.enabled && after.disabled_reason === reason;
      if (disabled) {
        await tx
          .insert(appNotices)
          .values({
            id: `ntc_${randomId(16)}`,
            appId: endpoint.appId,
            kind: `webhook_endpoint_disabled:${endpoint.id}`,
            day: dayOf(Date.now()),
            message: `Webhook endpoint ${endpoint.url} was disabled: ${reason} Its pending events wait; enable it to resume.`,
          })
          .onConflictDoNothing();
        this.#o.logger.warn({ appId: endpoint.appId, endpointId: endpoint.id }, "webhook endpoint disabled");
      }
      return disabled;
    });
  }

  /** One request of the app's `webhookDeliveriesPerSecond` (this dispatcher's count); false: wait. */
  async #takeRate(appId: string): Promise<boolean> {
    const now = Date.now();
    let limit = this.#limits.get(appId);
    if (!limit || now - limit.at > LIMIT_CACHE_MS) {
      const runtime = (await loadAppRuntimes(this.#o.db, [appId])).get(appId);
      limit = { perSecond: runtime?.limits.webhookDeliveriesPerSecond ?? 0, at: now };
      this.#limits.set(appId, limit);
    }
    const second = Math.floor(now / 1000);
    const used = this.#sentThisSecond.get(appId);
    const n = used && used.second === second ? used.n : 0;
    if (n >= limit.perSecond) return false;
    this.#sentThisSecond.set(appId, { second, n: n + 1 });
    return true;
  }

  /** The delivery log keeps 7 days; pending deliveries are never deleted. */
  async #cleanup(): Promise<void> {
    if (Date.now() - this.#lastCleanup < CLEANUP_EVERY_MS) return;
    this.#lastCleanup = Date.now();
    const ms = WEBHOOK_LOG_RETENTION_MS;
    await this.#o.db.execute(
      sql`DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < now() - ${ms} * interval '1 millisecond'`,
    );
    await this.#o.db.execute(
      sql`DELETE FROM webhook_attempts WHERE at < now() - ${ms} * interval '1 millisecond'`,
    );
  }
}

/** 86 400 000 → "24 h", 90 000 → "1.5 min", 1 000 → "1 s". */
function duration(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
  if (ms >= 60_000) return `${Math.round((ms / 60_000) * 10) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}
