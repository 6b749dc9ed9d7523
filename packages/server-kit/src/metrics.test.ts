import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PublishMetrics, processRegistry, Registry } from "./metrics.js";

const here = fileURLToPath(new URL(".", import.meta.url));

describe("process metrics", () => {
  it("count the unhandled rejections a guarded process survived", () => {
    // A process of its own: the test runner would take an unhandled rejection as a failure.
    const script = `
      import { createLogger, guardProcess, processRegistry } from "./index.ts";
      guardProcess(createLogger("t", "silent"));
      const registry = processRegistry();
      Promise.reject(new Error("nobody handles me"));
      Promise.reject(new Error("nor me"));
      // Node reports unhandled rejections once the microtasks have run, before the next macrotask.
      setImmediate(async () => {
        console.log(await registry.getSingleMetricAsString("relaybase_unhandled_rejections_total"));
      });
    `;
    const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: here,
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("relaybase_unhandled_rejections_total 2");
  });

  it("hold prom-client's defaults, event-loop lag included", async () => {
    const text = await processRegistry().metrics();
    expect(text).toContain("# TYPE nodejs_eventloop_lag_seconds gauge");
    expect(text).toContain("# TYPE process_cpu_user_seconds_total counter");
  });
});

describe("PublishMetrics", () => {
  it("two services on one registry share the publish path's series instead of registering them twice", () => {
    const registry = new Registry();
    const a = new PublishMetrics(registry);
    const b = new PublishMetrics(registry);
    expect(b.limitRefusals).toBe(a.limitRefusals);
    expect(b.historyWrite).toBe(a.historyWrite);
    expect(b.apps).toBe(a.apps);
  });

  it("counts only plan-limit codes as limit refusals", async () => {
    const metrics = new PublishMetrics(new Registry());
    metrics.refused("app_a", "RATE_LIMITED");
    metrics.refused("app_a", "INVALID_ROOM_NAME");
    metrics.refused(undefined, "DAILY_QUOTA_EXCEEDED");
    expect((await metrics.limitRefusals.get()).values.map((v) => [v.labels, v.value])).toEqual([
      [{ app: "app_a", code: "RATE_LIMITED" }, 1],
      [{ app: "_other", code: "DAILY_QUOTA_EXCEEDED" }, 1],
    ]);
  });
});
