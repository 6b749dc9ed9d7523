import { MemoryRoomHistory } from "@relaybase/server-kit";
import { describe, expect, it } from "vitest";
import { describeRoomHistoryContract } from "./testing/room-history-contract.js";

// The reference implementation must pass the contract the Redis one is held to.
describeRoomHistoryContract("MemoryRoomHistory", (now) => new MemoryRoomHistory(now));

describe("MemoryRoomHistory over many trims", () => {
  // Past the point where trimmed slots are compacted away, more than once.
  it("keeps the newest entries in order, finds a repeated id and replays from a kept offset", async () => {
    const history = new MemoryRoomHistory();
    const limits = { maxEntries: 100, ttlMs: 60_000 };
    for (let i = 1; i <= 5_000; i++) {
      const r = await history.append("r", { id: `m${i}`, event: "e", data: i, ts: Date.now() }, limits);
      expect(r.offset).toBe(i);
    }
    const page = await history.read("r", { limit: 1_000, direction: "forward" }, limits);
    expect(page.messages.map((m) => m.offset)).toEqual(Array.from({ length: 100 }, (_, i) => 4_901 + i));
    const repeat = await history.append("r", { id: "m4950", event: "e", data: 0, ts: Date.now() }, limits);
    expect(repeat).toMatchObject({ duplicate: true, offset: 4_950, stored: { id: "m4950", data: 4_950 } });
    // A trimmed id is a new message again.
    expect(
      await history.append("r", { id: "m10", event: "e", data: 10, ts: Date.now() }, limits),
    ).toMatchObject({
      duplicate: false,
      offset: 5_001,
    });
    const replay = await history.since("r", { offset: 4_990, epoch: page.position.epoch }, limits);
    expect(replay.recovered).toBe(true);
    expect(replay.messages.map((m) => m.offset)).toEqual(Array.from({ length: 11 }, (_, i) => 4_991 + i));
    const gone = await history.since("r", { offset: 10, epoch: page.position.epoch }, limits);
    expect(gone).toMatchObject({ recovered: false, messages: [] });
  });
});
