import { RelaybaseError } from "@relaybase/protocol";
import { describe, expect, it } from "vitest";
import {
  type DailyQuota,
  MemoryDailyQuota,
  MemoryRateLimiter,
  nextUtcMidnight,
  secondsUntilUtcMidnight,
  takeDailyQuota,
  utcDay,
} from "./limits.js";
import { PLANS } from "./plans.js";
import type { AppRuntime } from "./tenant-directory.js";

const app = (messagesPerDay: number): AppRuntime => ({
  appId: "app_1",
  orgId: "org_1",
  name: "t",
  plan: "free",
  allowedOrigins: [],
  anonymousCaps: {},
  clientPublish: true,
  limits: { ...PLANS.free, messagesPerDay },
  publishableKeys: [],
  secretKeys: [],
});

describe("MemoryRateLimiter", () => {
  it("allows `limit` points per window and key, then says how long to wait", async () => {
    const rate = new MemoryRateLimiter();
    const rule = { name: "t", limit: 3 };
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await rate.consume(rule, "a"));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    const refused = decisions[4]!;
    expect(refused.allowed === false && refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.allowed === false && refused.retryAfterMs).toBeLessThanOrEqual(1000);
    // Another key has its own budget.
    expect(await rate.consume(rule, "b")).toEqual({ allowed: true });
  });

  it("counts several points at once and starts over in the next window", async () => {
    const rate = new MemoryRateLimiter();
    const rule = { name: "t", limit: 10 };
    expect((await rate.consume(rule, "a", 8)).allowed).toBe(true);
    expect((await rate.consume(rule, "a", 3)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 1050));
    expect((await rate.consume(rule, "a", 10)).allowed).toBe(true);
  });

  it("gives a changed limit a fresh budget, and a limit of 0 allows nothing", async () => {
    const rate = new MemoryRateLimiter();
    for (let i = 0; i < 2; i++) await rate.consume({ name: "t", limit: 2 }, "a");
    expect((await rate.consume({ name: "t", limit: 2 }, "a")).allowed).toBe(false);
    expect((await rate.consume({ name: "t", limit: 5 }, "a")).allowed).toBe(true);
    expect(await rate.consume({ name: "t", limit: 0 }, "a")).toEqual({ allowed: false, retryAfterMs: 1000 });
  });
});

describe("MemoryDailyQuota", () => {
  it("counts all or nothing up to the limit, per app", async () => {
    const quota = new MemoryDailyQuota();
    expect(await quota.take("a", 3, 5)).toEqual({ allowed: true, used: 3 });
    expect(await quota.take("a", 3, 5)).toEqual({ allowed: false, used: 3 });
    expect(await quota.take("a", 2, 5)).toEqual({ allowed: true, used: 5 });
    expect(await quota.take("a", 1, 5)).toEqual({ allowed: false, used: 5 });
    expect(await quota.take("b", 1, 5)).toEqual({ allowed: true, used: 1 });
  });

  it("lets concurrent takes pass only up to the limit", async () => {
    const quota = new MemoryDailyQuota();
    const results = await Promise.all(Array.from({ length: 5 }, () => quota.take("a", 1, 3)));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
  });

  it("starts every UTC day from zero", async () => {
    let now = Date.UTC(2025, 0, 1, 23, 59, 59);
    const quota = new MemoryDailyQuota(() => now);
    expect((await quota.take("a", 5, 5)).allowed).toBe(true);
    expect((await quota.take("a", 1, 5)).allowed).toBe(false);
    now += 1000;
    expect(await quota.used("a")).toBe(0);
    expect(await quota.take("a", 1, 5)).toEqual({ allowed: true, used: 1 });
  });
});

describe("UTC day helpers", () => {
  it("name the day and the seconds until the next midnight UTC", () => {
    const t = Date.UTC(2025, 11, 31, 23, 0, 0, 500);
    expect(utcDay(t)).toBe("2025-12-31");
    expect(nextUtcMidnight(t)).toBe(Date.UTC(2026, 0, 1));
    expect(secondsUntilUtcMidnight(t)).toBe(3600);
    expect(secondsUntilUtcMidnight(Date.UTC(2026, 0, 1) - 1)).toBe(1);
  });
});

describe("takeDailyQuota", () => {
  it("refuses past the limit with DAILY_QUOTA_EXCEEDED and the seconds until midnight UTC", async () => {
    const quota = new MemoryDailyQuota();
    await takeDailyQuota(quota, app(2), 2);
    const err = await takeDailyQuota(quota, app(2), 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RelaybaseError);
    expect(err).toMatchObject({ code: "DAILY_QUOTA_EXCEEDED", status: 429, retry: "backoff" });
    const retryAfter = (err as RelaybaseError).retryAfter!;
    expect(Math.abs(retryAfter - secondsUntilUtcMidnight(Date.now()))).toBeLessThanOrEqual(1);
    expect((err as RelaybaseError).toWire()).toMatchObject({ retryAfter });
  });

  it("fails closed with UNAVAILABLE when the counter fails", async () => {
    const broken: DailyQuota = {
      take: () => Promise.reject(new Error("down")),
      used: () => Promise.reject(new Error("down")),
    };
    await expect(takeDailyQuota(broken, app(10), 1)).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });

  it("warns once when the app passes 80% of its quota", async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (obj: unknown) => warnings.push(obj) };
    const quota = new MemoryDailyQuota();
    for (let i = 0; i < 10; i++) await takeDailyQuota(quota, app(10), 1, logger);
    expect(warnings).toEqual([{ appId: "app_1", used: 8, limit: 10 }]);
  });
});
