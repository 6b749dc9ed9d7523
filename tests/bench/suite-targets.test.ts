/**
 * How the suite judges a target when a measured maximum is not the server's (shared/BENCH.md
 * rule 1): the generator's core over its limit, or a fan-out ladder that never reached a
 * failing step. Then the verdict compares what each server's CPU allows, and says why.
 */
import { describe, expect, it } from "vitest";
import { type SuiteReport, suiteTargets } from "../../bench/lib/suite-report.js";
import type { FanoutRun, FanoutStep, RestRun } from "../../bench/lib/suite-steps.js";

const LIMIT = 0.75;

function report(parts: Partial<Pick<SuiteReport, "fanout" | "rest">>): SuiteReport {
  return {
    benchmark: "suite",
    quick: true,
    facts: {} as SuiteReport["facts"],
    loads: [],
    elapsedS: 0,
    config: { fanout: { maxGeneratorCpu: LIMIT } } as SuiteReport["config"],
    rss: [],
    memory: [],
    handshakes: [],
    fanout: parts.fanout ?? [],
    rest: parts.rest ?? [],
    command: "test",
  };
}

function rest(
  system: "relaybase" | "b1",
  perSecond: number,
  usPerRequest: number,
  generatorCpu: number,
): RestRun {
  const result = { perSecond, generatorCpu, latency: { p99: 5000 } } as RestRun["half"];
  return { system, rep: 0, max: { ...result, serverUsPerRequest: usPerRequest }, half: result };
}

function fanout(
  system: "relaybase" | "b1",
  max: number,
  cpuCapacity: number,
  steps: Pick<FanoutStep, "pass">[],
): FanoutRun {
  return {
    system,
    rep: 0,
    point: "1x1000@100B",
    maxDeliveriesPerSecond: max,
    generatorCapped: false,
    serverUsPerDelivery: 1e6 / cpuCapacity,
    cpuCapacity,
    steps: steps as FanoutStep[],
  };
}

const target = (r: SuiteReport, prefix: string) => suiteTargets(r).find((t) => t.name.startsWith(prefix))!;

describe("suite targets", () => {
  it("compares REST maxima when both generators stayed under the limit", () => {
    const t = target(
      report({ rest: [rest("relaybase", 7000, 120, 0.5), rest("b1", 10_000, 90, 0.7)] }),
      "REST publishes",
    );
    expect(t.measured).toMatch(/^0\.70×/);
    expect(t.pass).toBe(true);
  });

  it("judges REST on CPU per request when a generator was over the limit, and says so", () => {
    const t = target(
      report({ rest: [rest("relaybase", 15_000, 66, 0.71), rest("b1", 29_000, 24, 0.99)] }),
      "REST publishes",
    );
    // 24 ÷ 66: what one core allows each, not the 0.52× of two maxima, one of them the generator's.
    expect(t.measured).toMatch(
      /^0\.36× from CPU per request: the generator's core was over 75% at the maximum of b1/,
    );
    expect(t.measured).toContain("max 2xx/s 0.52×");
    expect(t.pass).toBe(false);
  });

  it("compares fan-out maxima when both ladders reached a failing step", () => {
    const steps = [{ pass: true }, { pass: true }, { pass: false }];
    const t = target(
      report({ fanout: [fanout("relaybase", 30_000, 40_000, steps), fanout("b1", 30_000, 50_000, steps)] }),
      "fan-out 1 room",
    );
    expect(t.measured).toMatch(/^1\.00×/);
    expect(t.pass).toBe(true);
  });

  it("judges fan-out on CPU when a ladder ended with every step passing", () => {
    const t = target(
      report({
        fanout: [
          fanout("relaybase", 83_000, 130_000, [{ pass: true }, { pass: true }]),
          fanout("b1", 101_000, 155_000, [{ pass: true }, { pass: false }]),
        ],
      }),
      "fan-out 1 room",
    );
    expect(t.measured).toMatch(/^0\.84× from CPU per delivery: every step of relaybase passed/);
    expect(t.pass).toBe(false);
  });
});
