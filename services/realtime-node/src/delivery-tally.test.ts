import type { MessageEnvelope } from "@relaybase/protocol";
import { describe, expect, it } from "vitest";
import { DeliveryTally } from "./delivery-tally.js";

const envelope = (offset: number): MessageEnvelope => ({
  room: "chat",
  id: `m${offset}`,
  event: "e",
  data: { offset },
  ts: Date.now(),
  offset,
  epoch: "e1",
});

describe("DeliveryTally", () => {
  it("hands each broadcast's run to the sink once, with its count, by the end of the task", async () => {
    const runs: [string, string, number, number][] = [];
    const tally = new DeliveryTally((app, event, env, count) => runs.push([app, event, env.offset, count]));
    const a = envelope(1);
    const b = envelope(2);
    for (let i = 0; i < 1000; i++) tally.add("app_1", "message", a);
    tally.add("app_1", "message", b);
    tally.add("app_1", "message", b);
    // Another app's socket in the same loop, and the same payload as another event: new runs.
    tally.add("app_2", "message", b);
    tally.add("app_2", "user.message", b);
    expect(runs).toEqual([
      ["app_1", "message", 1, 1000],
      ["app_1", "message", 2, 2],
      ["app_2", "message", 2, 1],
    ]);
    await Promise.resolve();
    expect(runs.at(-1)).toEqual(["app_2", "user.message", 2, 1]);
    expect(runs).toHaveLength(4);
  });

  it("counts a payload seen again after the microtask as a new run, and flushes nothing twice", async () => {
    const counts: number[] = [];
    const tally = new DeliveryTally((_app, _event, _env, count) => counts.push(count));
    const a = envelope(1);
    tally.add("app_1", "message", a);
    tally.add("app_1", "message", a);
    await Promise.resolve();
    tally.add("app_1", "message", a);
    await Promise.resolve();
    tally.flush();
    expect(counts).toEqual([2, 1]);
  });
});
