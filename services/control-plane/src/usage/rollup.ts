import { hourOf, type Logger, randomId, type UsageDelta } from "@relaybase/server-kit";
import { and, gte, inArray, lt, sql } from "drizzle-orm";
import type { Database } from "../db/index.js";
import { appNotices, apps, usageHourly } from "../db/schema.js";
import { loadAppRuntimes } from "../tenants.js";
import type { ControlPlaneMetrics } from "./metrics.js";

export const DAY_MS = 86_400_000;
export const QUOTA_WARNING_KIND = "daily_quota_80";

/** `YYYY-MM-DD` of the UTC day `ms` falls in. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export interface QuotaWarning {
  appId: string;
  day: string;
  used: number;
  limit: number;
}

/** Rows per INSERT statement. */
const INSERT_CHUNK = 500;

interface Row {
  appId: string;
  hour: number;
  published: number;
  delivered: number;
  bytesPublished: number;
  bytesDelivered: number;
  peakConnections: number;
}

/**
 * Writes usage into `usage_hourly`: deltas are added to what the row holds, peak
 * connections keep the max. Then, for the apps that published, checks today's total
 * against the daily quota and leaves one `daily_quota_80` notice per app per day at 80%.
 * Safe to run in several control planes at once (row upserts, a unique notice index).
 */
export class UsageRollup {
  /** Last peak written per `hour:app`, to skip writes that would change nothing. */
  #peaks = new Map<string, number>();
  #peaksHour = 0;
  /** `day:app` pairs known to have their notice already. */
  readonly #warned = new Set<string>();
  #warnedDay = "";

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly metrics: ControlPlaneMetrics,
    private readonly onQuotaWarning?: (warning: QuotaWarning) => Promise<unknown>,
  ) {}

  /** Adds the deltas, and `peaks` (connections per app now) as candidates for `at`'s hour. */
  async apply(deltas: UsageDelta[], peaks?: Map<string, number>, at = Date.now()): Promise<void> {
    const rows = new Map<string, Row>();
    const rowOf = (appId: string, hour: number): Row => {
      const key = `${hour}:${appId}`;
      let row = rows.get(key);
      if (!row) {
        row = {
          appId,
          hour,
          published: 0,
          delivered: 0,
          bytesPublished: 0,
          bytesDelivered: 0,
          peakConnections: 0,
        };
        rows.set(key, row);
      }
      return row;
    };
    for (const d of deltas) {
      const row = rowOf(d.appId, d.hour);
      row.published += d.published;
      row.delivered += d.delivered;
      row.bytesPublished += d.bytesPublished;
      row.bytesDelivered += d.bytesDelivered;
    }
    const hour = hourOf(at);
    if (hour !== this.#peaksHour) {
      this.#peaks = new Map();
      this.#peaksHour = hour;
    }
    const newPeaks: [string, number][] = [];
    for (const [appId, n] of peaks ?? []) {
      const key = `${hour}:${appId}`;
      if (n <= 0 || n <= (this.#peaks.get(key) ?? 0)) continue;
      rowOf(appId, hour).peakConnections = n;
      newPeaks.push([key, n]);
    }
    if (rows.size === 0) return;

    const written = await this.#upsert([...rows.values()]);
    for (const [key, n] of newPeaks) this.#peaks.set(key, n);
    this.metrics.usageRowsWritten.inc(written.length);
    await this.#checkDailyQuota(written.filter((r) => r.published > 0));
  }

  /** One transaction; rows of apps that no longer exist are dropped. Returns the rows written. */
  async #upsert(rows: Row[]): Promise<Row[]> {
    return this.db.transaction(async (tx) => {
      const ids = [...new Set(rows.map((r) => r.appId))];
      const existing = new Set(
        (await tx.select({ id: apps.id }).from(apps).where(inArray(apps.id, ids))).map((r) => r.id),
      );
      const kept = rows.filter((r) => existing.has(r.appId));
      if (kept.length < rows.length) {
        this.logger.debug({ dropped: rows.length - kept.length }, "usage of deleted apps dropped");
      }
      for (let i = 0; i < kept.length; i += INSERT_CHUNK) {
        await tx
          .insert(usageHourly)
          .values(kept.slice(i, i + INSERT_CHUNK).map((r) => ({ ...r, hour: new Date(r.hour) })))
          .onConflictDoUpdate({
            target: [usageHourly.appId, usageHourly.hour],
            set: {
              published: sql.raw("usage_hourly.published + excluded.published"),
              delivered: sql.raw("usage_hourly.delivered + excluded.delivered"),
              bytesPublished: sql.raw("usage_hourly.bytes_published + excluded.bytes_published"),
              bytesDelivered: sql.raw("usage_hourly.bytes_delivered + excluded.bytes_delivered"),
              peakConnections: sql.raw("greatest(usage_hourly.peak_connections, excluded.peak_connections)"),
            },
          });
      }
      return kept;
    });
  }

  /** 80% of `messagesPerDay` (plan + overrides) published in a UTC day: one notice, one metric. */
  async #checkDailyQuota(rows: Row[]): Promise<void> {
    const today = dayOf(Date.now());
    if (today !== this.#warnedDay) {
      // Only today's and yesterday's (late deltas) pairs can come up again.
      const yesterday = dayOf(Date.now() - DAY_MS);
      for (const key of this.#warned)
        if (!key.startsWith(today) && !key.startsWith(yesterday)) this.#warned.delete(key);
      this.#warnedDay = today;
    }
    const appsByDay = new Map<string, Set<string>>();
    for (const r of rows) {
      const day = dayOf(r.hour);
      if (this.#warned.has(`${day}:${r.appId}`)) continue;
      const set = appsByDay.get(day) ?? new Set<string>();
      set.add(r.appId);
      appsByDay.set(day, set);
    }
    if (appsByDay.size === 0) return;
    const runtimes = await loadAppRuntimes(this.db, [
      ...new Set([...appsByDay.values()].flatMap((s) => [...s])),
    ]);
    for (const [day, appIds] of appsByDay) {
      const start = new Date(`${day}T00:00:00.000Z`);
      const totals = await this.db
        .select({
          appId: usageHourly.appId,
          published: sql<number>`coalesce(sum(${usageHourly.published}), 0)`.mapWith(Number),
        })
        .from(usageHourly)
        .where(
          and(
            inArray(usageHourly.appId, [...appIds]),
            gte(usageHourly.hour, start),
            lt(usageHourly.hour, new Date(start.getTime() + DAY_MS)),
          ),
        )
        .groupBy(usageHourly.appId);
      for (const { appId, published } of totals) {
        const app = runtimes.get(appId);
        const limit = app?.limits.messagesPerDay ?? 0;
        // published >= 80% of the limit, in integers.
        if (!app || limit <= 0 || published * 5 < limit * 4) continue;
        const inserted = await this.db
          .insert(appNotices)
          .values({
            id: `ntc_${randomId(16)}`,
            appId,
            kind: QUOTA_WARNING_KIND,
            day,
            message:
              `80% of the daily message quota used: ${published} of ${limit} messages published on ` +
              `${day} (UTC).`,
          })
          .onConflictDoNothing()
          .returning({ id: appNotices.id });
        this.#warned.add(`${day}:${appId}`);
        if (inserted.length > 0) {
          // The notice is committed; the event's failure is logged, the notice stays.
          await this.onQuotaWarning?.({ appId, day, used: published, limit }).catch((err: unknown) =>
            this.logger.warn({ err, appId }, "quota warning webhook event not stored"),
          );
          this.metrics.quotaWarned(appId);
          this.logger.info({ appId, day, published, limit }, "app reached 80% of its daily message quota");
        }
      }
    }
  }
}
