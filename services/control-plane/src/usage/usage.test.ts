import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, HOUR_MS, type UsageDelta } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenedDatabase, openDatabase } from "../db/index.js";
import { apps, orgs, usageHourly } from "../db/schema.js";
import { ControlPlaneMetrics } from "./metrics.js";
import { usageSeries } from "./queries.js";
import { type PendingUsage, UsageService } from "./service.js";

let dir: string;
let database: OpenedDatabase;
const logger = createLogger("usage-test", "silent");

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rb-usage-"));
  database = await openDatabase({ dataDir: dir });
  await database.db.insert(orgs).values({ id: "org_1", name: "o" });
  await database.db.insert(apps).values([
    { id: "app_1", orgId: "org_1", name: "one" },
    { id: "app_2", orgId: "org_1", name: "two" },
  ]);
});
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

// Noon of today (UTC): H and the hour before are the same day as now, whatever the time.
const H = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 12 * HOUR_MS;
const d = (appId: string, hour: number, published: number, delivered = 0): UsageDelta => ({
  appId,
  hour,
  published,
  delivered,
  bytesPublished: published * 3,
  bytesDelivered: delivered * 3,
});

/** An in-memory stand-in for RedisUsage's claims, with switchable failures. */
class FakePending implements PendingUsage {
  queue: UsageDelta[][] = [];
  claims = new Map<string, { deltas: UsageDelta[]; at: number }>();
  failRelease = 0;
  #next = 0;
  async take() {
    const deltas = this.queue.shift();
    if (!deltas) return undefined;
    const id = `c${++this.#next}`;
    this.claims.set(id, { deltas, at: Date.now() });
    return { id, deltas };
  }
  async staleClaims(olderThan: number) {
    return [...this.claims].filter(([, c]) => c.at <= olderThan).map(([id]) => id);
  }
  async reclaim(id: string, notAfter: number) {
    const claim = this.claims.get(id);
    if (!claim || claim.at > notAfter) return undefined;
    claim.at = Date.now();
    return { id, deltas: claim.deltas };
  }
  async release(id: string) {
    if (this.failRelease > 0) {
      this.failRelease--;
      throw new Error("redis down");
    }
    this.claims.delete(id);
  }
}

async function totals(appId: string) {
  const [point] = await usageSeries(database.db, appId, "day", { from: new Date(H), to: new Date(H + 1) });
  return point!;
}

describe("UsageService", () => {
  it("adds claims to usage_hourly, drops deleted apps' usage, keeps the peak", async () => {
    const pending = new FakePending();
    let connections = new Map([["app_1", 4]]);
    const usage = new UsageService({
      db: database.db,
      logger,
      metrics: new ControlPlaneMetrics(),
      rollupMs: 60_000,
      // Peaks are sampled "now": keep now inside hour H whenever the suite runs.
      now: () => H + 30 * 60_000,
      pending,
      connectionCounts: async () => connections,
    });
    pending.queue.push(
      [d("app_1", H, 2, 5), d("app_gone", H, 9)],
      [d("app_1", H, 1, 1), d("app_1", H - HOUR_MS, 7)],
    );
    await usage.rollup();
    connections = new Map([["app_1", 2]]);
    await usage.rollup();
    expect(pending.claims.size).toBe(0);
    expect(await totals("app_1")).toMatchObject({
      published: 10,
      delivered: 6,
      bytesPublished: 30,
      bytesDelivered: 18,
      peakConnections: 4,
    });
    const rows = await database.db.select().from(usageHourly);
    expect(rows.map((r) => r.appId).sort()).toEqual(["app_1", "app_1"]);
    await usage.close();
  });

  it("never applies a claim twice when its release fails, and releases it later", async () => {
    const pending = new FakePending();
    const usage = new UsageService({
      db: database.db,
      logger,
      metrics: new ControlPlaneMetrics(),
      rollupMs: 60_000,
      // Peaks are sampled "now": keep now inside hour H whenever the suite runs.
      now: () => H + 30 * 60_000,
      pending,
    });
    pending.queue.push([d("app_2", H, 5)]);
    pending.failRelease = 1;
    await expect(usage.rollup()).rejects.toThrow("redis down");
    expect(pending.claims.size).toBe(1);
    await usage.rollup();
    expect(pending.claims.size).toBe(0);
    expect((await totals("app_2")).published).toBe(5);
    await usage.close();
  });

  it("takes over a claim left by a rollup that died, once it is stale", async () => {
    const pending = new FakePending();
    pending.claims.set("orphan", { deltas: [d("app_2", H, 3)], at: Date.now() - 1_000 });
    const usage = new UsageService({
      db: database.db,
      logger,
      metrics: new ControlPlaneMetrics(),
      rollupMs: 60_000,
      // Peaks are sampled "now": keep now inside hour H whenever the suite runs.
      now: () => H + 30 * 60_000,
      pending,
      staleClaimMs: 5_000,
    });
    await usage.rollup();
    expect(pending.claims.has("orphan")).toBe(true); // not stale yet: its owner may be busy
    pending.claims.get("orphan")!.at = Date.now() - 10_000;
    await usage.rollup();
    expect(pending.claims.size).toBe(0);
    expect((await totals("app_2")).published).toBe(8);
    await usage.close();
  });
});
