/**
 * The benchmark harness, checked without timing: the light generator (bench/lib/wire.ts,
 * load-worker.ts) against the raw-ws and bare Socket.IO baselines delivers every stamped
 * message of a tiny fan-out point exactly once and reports well-formed counts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadWorker, startLoadWorker } from "../../bench/lib/load-client.js";
import type { FanoutResult } from "../../bench/lib/load-worker.js";
import { type BenchServer, startServer } from "../../bench/lib/servers.js";
import { readStamp } from "../../bench/lib/wire.js";

describe.each(["b0", "b1"] as const)("bench harness against %s", (system) => {
  let server: BenchServer;
  let worker: LoadWorker;
  beforeAll(async () => {
    server = await startServer(system);
    worker = await startLoadWorker(false);
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await server?.stop();
  });

  it("subscribes, counts each delivery of the measured window once, and reports the server's CPU window", async () => {
    const rooms = ["public:a", "public:b"];
    const { result: opened } = await worker.run<{ opened: number; failed: number }>({
      cmd: "subscribe",
      spec: { system, url: server.info.url },
      rooms,
      count: 6,
      concurrency: 3,
    });
    expect(opened).toMatchObject({ opened: 6, failed: 0 });
    const { result, window } = await worker.run<FanoutResult>(
      {
        cmd: "fanout",
        step: 1,
        rate: 50,
        warmupMs: 200,
        measureMs: 400,
        drainMs: 10_000,
        publishUrl: server.info.publishUrl,
        headers: {},
        payloadBytes: 100,
      },
      { server: server.pid },
    );
    // 20 messages measured, alternating rooms of 3 subscribers each.
    expect(result.sent).toBe(20);
    expect(result.expected).toBe(60);
    expect(result.delivered).toBe(60);
    expect(result.duplicates).toBe(0);
    expect(result.latency.count).toBe(60);
    expect(Object.keys(result.statuses)).toEqual(["202"]);
    expect(window?.processes.server).toBeGreaterThanOrEqual(0);
    await worker.run({ cmd: "close" });
  });
});

describe("readStamp", () => {
  it("reads sequence, scheduled time and step from a frame, whichever envelope wraps it", () => {
    expect(
      readStamp('42["message",{"room":"r","data":{"s":12,"t":345.67,"r":3,"p":"xx"},"offset":9}]'),
    ).toEqual({
      s: 12,
      t: 345.67,
      r: 3,
    });
    expect(readStamp('{"room":"r","event":"b"}')).toBeUndefined();
  });
});
