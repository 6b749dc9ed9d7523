import type { MessageEnvelope } from "@relaybase/protocol";
import { describe, expect, it } from "vitest";
import { RoomSequencer } from "./room-sequencer.js";

function msg(offset: number, epoch = "e1"): MessageEnvelope {
  return { room: "r", event: "chat", data: { n: offset }, id: `m${offset}`, offset, epoch, ts: 0 };
}
const offsets = (list: MessageEnvelope[]) => list.map((m) => m.offset);

/** A sequencer subscribed at `offset` of epoch e1 (first subscribe, no since). */
function subscribedAt(offset: number): RoomSequencer {
  const seq = new RoomSequencer();
  expect(seq.begin()).toBeUndefined();
  seq.ack({ offset, epoch: "e1" });
  return seq;
}

describe("RoomSequencer", () => {
  it("takes the first ack's position as the baseline and drops what is at or below it", () => {
    const seq = new RoomSequencer();
    seq.begin();
    expect(seq.receive(msg(4))).toEqual([]); // buffered while the subscribe is pending
    expect(seq.receive(msg(6))).toEqual([]);
    const result = seq.ack({ offset: 5, epoch: "e1" });
    expect(offsets(result.deliver)).toEqual([6]);
    expect(result.recovered).toBeUndefined();
    expect(result.gap).toBeUndefined();
    expect(seq.position).toEqual({ offset: 6, epoch: "e1" });
  });

  it("delivers live messages in order and each offset once", () => {
    const seq = subscribedAt(0);
    expect(offsets(seq.receive(msg(1)))).toEqual([1]);
    expect(offsets(seq.receive(msg(1)))).toEqual([]);
    expect(offsets(seq.receive(msg(2)))).toEqual([2]);
    expect(seq.waiting).toBe(false);
  });

  it("holds a message that arrives ahead of a hole until the hole is filled", () => {
    const seq = subscribedAt(0);
    expect(offsets(seq.receive(msg(1)))).toEqual([1]);
    expect(offsets(seq.receive(msg(3)))).toEqual([]);
    expect(offsets(seq.receive(msg(4)))).toEqual([]);
    expect(seq.waiting).toBe(true);
    expect(offsets(seq.receive(msg(3)))).toEqual([]); // a repeat while held is kept once
    expect(offsets(seq.receive(msg(2)))).toEqual([2, 3, 4]);
    expect(seq.waiting).toBe(false);
    expect(seq.position).toEqual({ offset: 4, epoch: "e1" });
  });

  it("on resubscribe delivers the replay first, then the buffer, without duplicates", () => {
    const seq = subscribedAt(0);
    seq.receive(msg(1));
    seq.receive(msg(2));
    expect(seq.begin()).toEqual({ offset: 2, epoch: "e1" });
    // Live messages race the ack: some are also in the replay.
    expect(seq.receive(msg(5))).toEqual([]);
    expect(seq.receive(msg(4))).toEqual([]);
    expect(seq.receive(msg(6))).toEqual([]);
    const result = seq.ack({
      offset: 5,
      epoch: "e1",
      recovered: true,
      messages: [msg(2), msg(3), msg(4), msg(5)],
    });
    expect(result.recovered).toBe(true);
    expect(result.gap).toBeUndefined();
    expect(offsets(result.deliver)).toEqual([3, 4, 5, 6]);
    expect(offsets(seq.receive(msg(6)))).toEqual([]);
    expect(offsets(seq.receive(msg(7)))).toEqual([7]);
  });

  it("reports a gap when history no longer reaches back, and continues from the ack", () => {
    const seq = subscribedAt(0);
    seq.receive(msg(1));
    seq.receive(msg(2));
    seq.begin();
    seq.receive(msg(41));
    const result = seq.ack({ offset: 40, epoch: "e1", recovered: false, messages: [] });
    expect(result.recovered).toBe(false);
    expect(result.gap).toEqual({ lastOffset: 2, epoch: "e1", newOffset: 40, newEpoch: "e1" });
    expect(offsets(result.deliver)).toEqual([41]);
    expect(seq.position).toEqual({ offset: 41, epoch: "e1" });
  });

  it("reports no gap when history no longer reaches back but the messages arrived anyway", () => {
    // After a Socket.IO recovery the missed messages are replayed by the connection
    // while the checking subscribe is in flight; a trimmed history then is no gap.
    const seq = subscribedAt(2);
    seq.begin();
    seq.receive(msg(3));
    seq.receive(msg(4));
    const result = seq.ack({ offset: 4, epoch: "e1", recovered: false, messages: [] });
    expect(result.recovered).toBe(true);
    expect(result.gap).toBeUndefined();
    expect(offsets(result.deliver)).toEqual([3, 4]);
  });

  it("reports a gap when the epoch changed, then refetches the new epoch from its start", () => {
    const seq = subscribedAt(7);
    seq.begin();
    seq.receive(msg(9, "e1")); // stale epoch: dropped
    seq.receive(msg(3, "e2"));
    const result = seq.ack({ offset: 2, epoch: "e2", recovered: true, messages: [] });
    expect(result.recovered).toBe(false);
    expect(result.gap).toEqual({ lastOffset: 7, epoch: "e1", newOffset: 0, newEpoch: "e2" });
    expect(result.refetch).toBe(true);
    expect(result.deliver).toEqual([]); // 3 waits for 1 and 2
    expect(seq.begin()).toEqual({ offset: 0, epoch: "e2" });
    const refetched = seq.ack({
      offset: 3,
      epoch: "e2",
      recovered: true,
      messages: [msg(1, "e2"), msg(2, "e2")],
    });
    expect(refetched.gap).toBeUndefined();
    expect(offsets(refetched.deliver)).toEqual([1, 2, 3]);
    expect(seq.waiting).toBe(false);
  });

  it("delivers messages of a new epoch that arrived while the gap was being found", () => {
    const seq = subscribedAt(3);
    expect(seq.receive(msg(1, "e2"))).toEqual([]);
    expect(seq.waiting).toBe(true);
    expect(seq.begin()).toEqual({ offset: 3, epoch: "e1" });
    const result = seq.ack({ offset: 1, epoch: "e2", recovered: false, messages: [] });
    expect(result.gap).toEqual({ lastOffset: 3, epoch: "e1", newOffset: 0, newEpoch: "e2" });
    expect(offsets(result.deliver)).toEqual([1]); // published after the loss: not part of the gap
    expect(seq.waiting).toBe(false);
    expect(offsets(seq.receive(msg(2, "e2")))).toEqual([2]);
  });

  it("drops held messages of another epoch after an ack, so it cannot wait forever", () => {
    const seq = subscribedAt(3);
    seq.receive(msg(9, "old"));
    seq.begin();
    const result = seq.ack({ offset: 3, epoch: "e1", recovered: true, messages: [] });
    expect(result.deliver).toEqual([]);
    expect(seq.waiting).toBe(false);
  });

  it("fills a hole from the replay of a resync", () => {
    const seq = subscribedAt(0);
    seq.receive(msg(1));
    seq.receive(msg(3));
    expect(seq.waiting).toBe(true);
    seq.begin();
    const result = seq.ack({ offset: 3, epoch: "e1", recovered: true, messages: [msg(2), msg(3)] });
    expect(offsets(result.deliver)).toEqual([2, 3]);
    expect(seq.waiting).toBe(false);
  });

  it("keeps a hole open when the replay does not reach the held message", () => {
    const seq = subscribedAt(0);
    seq.receive(msg(5));
    seq.begin();
    const result = seq.ack({ offset: 3, epoch: "e1", recovered: true, messages: [msg(1), msg(2), msg(3)] });
    expect(offsets(result.deliver)).toEqual([1, 2, 3]);
    expect(seq.waiting).toBe(true);
    expect(offsets(seq.receive(msg(4)))).toEqual([4, 5]);
  });

  it("continues from a position given to reset() (subscribe with since)", () => {
    const seq = new RoomSequencer();
    seq.reset({ offset: 10, epoch: "e1" });
    expect(seq.begin()).toEqual({ offset: 10, epoch: "e1" });
    const result = seq.ack({ offset: 12, epoch: "e1", recovered: true, messages: [msg(11), msg(12)] });
    expect(result.recovered).toBe(true);
    expect(offsets(result.deliver)).toEqual([11, 12]);
  });

  it("treats a missing `recovered` with the same epoch as recovered", () => {
    const seq = subscribedAt(1);
    seq.begin();
    const result = seq.ack({ offset: 1, epoch: "e1" });
    expect(result.recovered).toBe(true);
    expect(result.gap).toBeUndefined();
  });

  it("on abort orders the buffer against the old position", () => {
    const seq = subscribedAt(1);
    seq.begin();
    seq.receive(msg(2));
    seq.receive(msg(1));
    expect(offsets(seq.abort())).toEqual([2]);
    expect(seq.pending).toBe(false);
  });

  it("on abort of a first subscribe drops the buffer", () => {
    const seq = new RoomSequencer();
    seq.begin();
    seq.receive(msg(1));
    expect(seq.abort()).toEqual([]);
    expect(seq.position).toBeUndefined();
  });

  it("ignores messages when not subscribed, and acks when nothing is pending", () => {
    const seq = new RoomSequencer();
    expect(seq.receive(msg(1))).toEqual([]);
    expect(seq.ack({ offset: 1, epoch: "e1" })).toEqual({ deliver: [] });
    expect(seq.position).toBeUndefined();
  });

  it("keeps buffering across a retried begin() (subscribe resent after a timeout)", () => {
    const seq = subscribedAt(0);
    seq.begin();
    seq.receive(msg(2));
    expect(seq.begin()).toEqual({ offset: 0, epoch: "e1" });
    seq.receive(msg(3));
    const result = seq.ack({ offset: 1, epoch: "e1", recovered: true, messages: [msg(1)] });
    expect(offsets(result.deliver)).toEqual([1, 2, 3]);
  });
});
