import { RelaybaseError } from "@relaybase/protocol";
import { HOUR_MS, hourOf } from "@relaybase/server-kit";
import { and, desc, eq, gte, lt } from "drizzle-orm";
import type { Database } from "../db/index.js";
import { appNotices, usageHourly } from "../db/schema.js";
import { loadAppRuntimes } from "../tenants.js";
import { DAY_MS, dayOf } from "./rollup.js";

/** What the console reads: `usage_hourly` as the rollups left it (a few seconds behind). */

export type Granularity = "hour" | "day";

export interface UsagePoint {
  /** Start of the hour or UTC day, ISO 8601. */
  start: string;
  published: number;
  delivered: number;
  bytesPublished: number;
  bytesDelivered: number;
  /** Most concurrent connections seen (a day: its busiest hour). */
  peakConnections: number;
}

const STEP: Record<Granularity, number> = { hour: HOUR_MS, day: DAY_MS };
/** Most points one call returns (31 days of hours, a year and a day of days). */
const MAX_POINTS: Record<Granularity, number> = { hour: 31 * 24, day: 366 };
/** Default range, ending with the current hour or day. */
const DEFAULT_POINTS: Record<Granularity, number> = { hour: 24, day: 30 };

const startOf = (ms: number, granularity: Granularity) =>
  granularity === "hour" ? hourOf(ms) : Math.floor(ms / DAY_MS) * DAY_MS;

/**
 * One point per hour or UTC day in [from, to), zeros where nothing happened. `from` is
 * rounded down to its hour or day; `to` is exclusive (default: the end of the current one).
 */
export async function usageSeries(
  db: Database,
  appId: string,
  granularity: Granularity,
  range: { from?: Date | undefined; to?: Date | undefined } = {},
  now = Date.now(),
): Promise<UsagePoint[]> {
  const step = STEP[granularity];
  const to = range.to
    ? startOf(range.to.getTime() - 1, granularity) + step
    : startOf(now, granularity) + step;
  const from = range.from
    ? startOf(range.from.getTime(), granularity)
    : to - DEFAULT_POINTS[granularity] * step;
  if (from >= to) throw new RelaybaseError("BAD_REQUEST", "`from` must be before `to`.");
  if ((to - from) / step > MAX_POINTS[granularity]) {
    throw new RelaybaseError(
      "BAD_REQUEST",
      `At most ${MAX_POINTS[granularity]} points per call at ${granularity} granularity.`,
    );
  }
  const rows = await db
    .select()
    .from(usageHourly)
    .where(
      and(
        eq(usageHourly.appId, appId),
        gte(usageHourly.hour, new Date(from)),
        lt(usageHourly.hour, new Date(to)),
      ),
    );
  const points = new Map<number, UsagePoint>();
  for (let t = from; t < to; t += step) {
    points.set(t, {
      start: new Date(t).toISOString(),
      published: 0,
      delivered: 0,
      bytesPublished: 0,
      bytesDelivered: 0,
      peakConnections: 0,
    });
  }
  for (const row of rows) {
    const point = points.get(startOf(row.hour.getTime(), granularity));
    if (!point) continue;
    point.published += row.published;
    point.delivered += row.delivered;
    point.bytesPublished += row.bytesPublished;
    point.bytesDelivered += row.bytesDelivered;
    point.peakConnections = Math.max(point.peakConnections, row.peakConnections);
  }
  return [...points.values()];
}

export interface UsageToday extends Omit<UsagePoint, "start"> {
  /** The UTC day, `YYYY-MM-DD`. */
  day: string;
  /** The app's daily quota (plan + operator overrides). */
  messagesPerDay: number;
  /** `published` as a percentage of `messagesPerDay`, one decimal. */
  percent: number;
}

export async function usageToday(db: Database, appId: string, now = Date.now()): Promise<UsageToday> {
  const [point] = await usageSeries(db, appId, "day", { from: new Date(now), to: new Date(now + 1) }, now);
  const runtime = (await loadAppRuntimes(db, [appId])).get(appId);
  if (!point || !runtime) throw new RelaybaseError("NOT_FOUND", "No such app.");
  const { start: _start, ...totals } = point;
  const messagesPerDay = runtime.limits.messagesPerDay;
  return {
    day: dayOf(now),
    ...totals,
    messagesPerDay,
    percent: messagesPerDay > 0 ? Math.round((totals.published / messagesPerDay) * 1000) / 10 : 0,
  };
}

export interface UsageNotice {
  id: string;
  kind: string;
  day: string;
  message: string;
  createdAt: string;
}

/** The app's notices, newest first. */
export async function usageNotices(db: Database, appId: string, limit = 50): Promise<UsageNotice[]> {
  const rows = await db
    .select()
    .from(appNotices)
    .where(eq(appNotices.appId, appId))
    .orderBy(desc(appNotices.createdAt), desc(appNotices.id))
    .limit(limit);
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    day: r.day,
    message: r.message,
    createdAt: r.createdAt.toISOString(),
  }));
}
