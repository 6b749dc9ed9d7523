import { RelaybaseError } from "@relaybase/protocol";
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Logger } from "./logger.js";
import type { AppRuntime } from "./tenant-directory.js";

/**
 * Rate limiters and the daily message quota (DESIGN §6, docs/limits.md). Two
 * implementations of the same interfaces: in memory here (one process: the embedded
 * platform, and per-connection budgets on any node) and in Redis (redis-kit, shared by
 * the cluster). The rules that use them live beside each entry point
 * (services/realtime-node/src/limits.ts, services/rest-publish-api/src/limits.ts); the
 * daily quota, which both entries share, is `takeDailyQuota` below.
 */

/** One budget: `limit` points per `windowSeconds`, per key. */
export interface RateRule {
  /** Names the budget's key space, e.g. "connect" or "rest-publish". */
  name: string;
  /** Points allowed per window; 0 allows nothing. */
  limit: number;
  /** @default 1 */
  windowSeconds?: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  /**
   * Takes `points` from `key`'s budget under `rule`. Refused points still count
   * (a fixed window: a client that keeps sending stays refused until the window ends).
   * Throws when the store fails; callers choose their fail policy.
   */
  consume(rule: RateRule, key: string, points?: number): Promise<RateDecision>;
}

/**
 * Builds on rate-limiter-flexible. An app's limits can change at any time (plan change,
 * operator override), so there is one underlying limiter per (rule name, limit, window),
 * made on first use; its key prefix carries the numbers, so a new limit starts a fresh
 * budget instead of inheriting a count made under the old one.
 */
export abstract class FlexibleRateLimiter implements RateLimiter {
  readonly #limiters = new Map<string, RateLimiterAbstract>();

  protected abstract create(options: {
    keyPrefix: string;
    points: number;
    duration: number;
  }): RateLimiterAbstract;

  async consume(rule: RateRule, key: string, points = 1): Promise<RateDecision> {
    const duration = Math.max(1, Math.ceil(rule.windowSeconds ?? 1));
    if (rule.limit <= 0) return { allowed: false, retryAfterMs: duration * 1000 };
    const keyPrefix = `rb:rl:${rule.name}:${rule.limit}:${duration}`;
    let limiter = this.#limiters.get(keyPrefix);
    if (!limiter) {
      limiter = this.create({ keyPrefix, points: rule.limit, duration });
      this.#limiters.set(keyPrefix, limiter);
    }
    try {
      await limiter.consume(key, points);
      return { allowed: true };
    } catch (err) {
      // rate-limiter-flexible rejects with a RateLimiterRes when the budget is spent and
      // with an Error when its store failed.
      if (err instanceof RateLimiterRes)
        return { allowed: false, retryAfterMs: Math.max(0, err.msBeforeNext) };
      throw err;
    }
  }
}

/** One process's budgets (`RateLimiterMemory`). */
export class MemoryRateLimiter extends FlexibleRateLimiter {
  protected create(options: { keyPrefix: string; points: number; duration: number }): RateLimiterAbstract {
    return new RateLimiterMemory(options);
  }
}

export interface QuotaDecision {
  allowed: boolean;
  /** Messages counted today after this call (unchanged when refused). */
  used: number;
}

/** Messages per app per UTC day, client and REST publishes together. */
export interface DailyQuota {
  /**
   * Counts `messages` for the app today unless that would take it past `limit`: all or
   * nothing, so a REST publish to N rooms is either counted N times or refused whole.
   * Throws when the store fails.
   */
  take(appId: string, messages: number, limit: number): Promise<QuotaDecision>;
  /** Messages counted today. */
  used(appId: string): Promise<number>;
}

/** The UTC day of a moment, `YYYY-MM-DD`: the quota's period. */
export function utcDay(now: number): string {
  // Asked on every publish; the answer changes once a day.
  const day = Math.floor(now / 86_400_000);
  if (day !== lastDay.index) lastDay = { index: day, text: new Date(now).toISOString().slice(0, 10) };
  return lastDay.text;
}
let lastDay = { index: Number.NaN, text: "" };

/** The next UTC midnight after `now`, in ms since the epoch: when the quota resets. */
export function nextUtcMidnight(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** Whole seconds until the quota resets (at least 1), for `Retry-After`. */
export function secondsUntilUtcMidnight(now: number): number {
  return Math.max(1, Math.ceil((nextUtcMidnight(now) - now) / 1000));
}

/** One process's daily counts: a map of app → (day, used); a new day starts from 0. */
export class MemoryDailyQuota implements DailyQuota {
  readonly #counts = new Map<string, { day: string; used: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async take(appId: string, messages: number, limit: number): Promise<QuotaDecision> {
    // No await between reading and writing the count: concurrent takes cannot both pass.
    const day = utcDay(this.now());
    const used = this.#today(appId, day);
    if (used + messages > limit) return { allowed: false, used };
    this.#counts.set(appId, { day, used: used + messages });
    return { allowed: true, used: used + messages };
  }

  async used(appId: string): Promise<number> {
    return this.#today(appId, utcDay(this.now()));
  }

  #today(appId: string, day: string): number {
    const entry = this.#counts.get(appId);
    if (entry?.day === day) return entry.used;
    this.#counts.delete(appId);
    return 0;
  }
}

/** What the services need to enforce the cluster-wide limits. */
export interface Limiters {
  /** Budgets shared by every node and REST instance: connect rate per (app, IP), REST publishes per app. */
  rate: RateLimiter;
  /** Messages per app per UTC day. */
  daily: DailyQuota;
}

/** The embedded platform's limiters: one set shared by the in-process node and REST API. */
export function memoryLimiters(): Limiters {
  return { rate: new MemoryRateLimiter(), daily: new MemoryDailyQuota() };
}

/** Share of the daily quota at which the app is warned (DESIGN §6). */
export const DAILY_QUOTA_WARNING = 0.8;

/**
 * The daily quota rule, the same for client and REST publishes: count `messages` (a
 * publish to N rooms is N messages) or refuse with DAILY_QUOTA_EXCEEDED and the seconds
 * until midnight UTC. Runs after the message is validated and before anything is
 * stored, so a refused or invalid message is neither counted nor kept.
 *
 * Fail policy: closed. If the counter's store fails, the publish is refused with
 * UNAVAILABLE (retry with backoff); in a cluster the same Redis holds room history, so
 * the publish could not have been stored anyway.
 */
export async function takeDailyQuota(
  quota: DailyQuota,
  app: AppRuntime,
  messages: number,
  logger?: Pick<Logger, "warn">,
): Promise<void> {
  const limit = app.limits.messagesPerDay;
  let decision: QuotaDecision;
  try {
    decision = await quota.take(app.appId, messages, limit);
  } catch (err) {
    if (err instanceof RelaybaseError) throw err;
    throw Object.assign(new RelaybaseError("UNAVAILABLE", "The message counter does not answer."), {
      cause: err,
    });
  }
  if (!decision.allowed) {
    throw new RelaybaseError(
      "DAILY_QUOTA_EXCEEDED",
      `This app has published ${decision.used} of its ${limit} messages for today (UTC); ` +
        `${messages} more would pass the limit. It resets at midnight UTC.`,
      { retryAfter: secondsUntilUtcMidnight(Date.now()) },
    );
  }
  const warnAt = limit * DAILY_QUOTA_WARNING;
  if (decision.used >= warnAt && decision.used - messages < warnAt) {
    logger?.warn(
      { appId: app.appId, used: decision.used, limit },
      "app passed 80% of its daily message quota",
    );
  }
}
