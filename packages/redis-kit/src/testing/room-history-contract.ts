import { randomBytes } from "node:crypto";
import type { RetentionLimits, RoomHistory, StoredMessage } from "@relaybase/server-kit";
import { beforeEach, describe, expect, it } from "vitest";

/**
 * The behaviour every `RoomHistory` must have (DESIGN §5, layer 2), run against the
 * in-memory reference and the Redis implementation alike.
 * `make(now)` returns a history whose age trimming reads the given clock.
 */
export function describeRoomHistoryContract(name: string, make: (now: () => number) => RoomHistory): void {
  describe(`RoomHistory contract: ${name}`, () => {
    const T0 = 1_700_000_000_000;
    let clock = T0;
    let history: RoomHistory;
    let room: string;
    const limits: RetentionLimits = { maxEntries: 100, ttlMs: 60_000 };

    const msg = (id: string, extra: Partial<StoredMessage> = {}): Omit<StoredMessage, "offset"> => ({
      id,
      event: "ev",
      data: { n: id },
      ts: clock,
      ...extra,
    });

    beforeEach(() => {
      clock = T0;
      history = make(() => clock);
      room = `a:app_test:room-${randomBytes(4).toString("hex")}`;
    });

    it("gives offsets 1..n without holes, under one epoch", async () => {
      const results = [];
      for (let i = 1; i <= 10; i++) results.push(await history.append(room, msg(`m${i}`), limits));
      expect(results.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(new Set(results.map((r) => r.epoch)).size).toBe(1);
      expect(results.every((r) => !r.duplicate)).toBe(true);
      expect(await history.position(room)).toEqual({ offset: 10, epoch: results[0]!.epoch });
    });

    it("gives a new room offset 0 and an epoch that its first message keeps", async () => {
      const baseline = await history.position(room);
      expect(baseline.offset).toBe(0);
      expect(baseline.epoch).toMatch(/^.{1,64}$/);
      expect(await history.position(room)).toEqual(baseline);
      const first = await history.append(room, msg("m1"), limits);
      expect(first).toEqual({ offset: 1, epoch: baseline.epoch, duplicate: false });
      const replay = await history.since(room, baseline, limits);
      expect(replay.recovered).toBe(true);
      expect(replay.messages.map((m) => m.id)).toEqual(["m1"]);
    });

    it("keeps rooms apart", async () => {
      const other = `${room}-other`;
      await history.append(room, msg("m1"), limits);
      await history.append(room, msg("m2"), limits);
      const o = await history.append(other, msg("m1"), limits);
      expect(o.offset).toBe(1);
      expect(o.duplicate).toBe(false);
      expect((await history.position(room)).offset).toBe(2);
    });

    it("returns the first offset and the first message for a repeated message id, and stores nothing", async () => {
      const first = await history.append(room, msg("dup"), limits);
      await history.append(room, msg("other"), limits);
      const again = await history.append(room, msg("dup", { data: "changed" }), limits);
      expect(again).toEqual({
        offset: first.offset,
        epoch: first.epoch,
        duplicate: true,
        stored: { ...msg("dup"), offset: first.offset },
      });
      expect((await history.position(room)).offset).toBe(2);
      const replay = await history.since(room, { offset: 0, epoch: first.epoch }, limits);
      expect(replay.messages.map((m) => [m.id, m.offset, m.data])).toEqual([
        ["dup", 1, { n: "dup" }],
        ["other", 2, { n: "other" }],
      ]);
    });

    it("round-trips every field of a message", async () => {
      const data = { text: "héllo ✓ 🚀", list: [1, 2.5, -3, true, null, "x"], empty: [], nested: { a: {} } };
      const stored = msg("full", { event: "chat:msg", data, from: { connectionId: "c1", userId: "u1" } });
      const { epoch } = await history.append(room, stored, limits);
      await history.append(room, msg("plain", { data: "a string" }), limits);
      const replay = await history.since(room, { offset: 0, epoch }, limits);
      expect(replay.messages).toEqual([
        { ...stored, offset: 1 },
        { id: "plain", event: "ev", data: "a string", ts: T0, offset: 2 },
      ]);
    });

    it("replays what was missed, oldest first", async () => {
      let epoch = "";
      for (let i = 1; i <= 5; i++) epoch = (await history.append(room, msg(`m${i}`), limits)).epoch;
      const replay = await history.since(room, { offset: 2, epoch }, limits);
      expect(replay.position).toEqual({ offset: 5, epoch });
      expect(replay.recovered).toBe(true);
      expect(replay.messages.map((m) => m.offset)).toEqual([3, 4, 5]);
      const all = await history.since(room, { offset: 0, epoch }, limits);
      expect(all.messages.map((m) => m.id)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
    });

    it("recovers with nothing to replay when the client is up to date", async () => {
      const { epoch } = await history.append(room, msg("m1"), limits);
      const replay = await history.since(room, { offset: 1, epoch }, limits);
      expect(replay).toEqual({ position: { offset: 1, epoch }, recovered: true, messages: [] });
    });

    it("does not recover across epochs", async () => {
      const { epoch } = await history.append(room, msg("m1"), limits);
      const replay = await history.since(room, { offset: 0, epoch: "another-epoch" }, limits);
      expect(replay).toEqual({ position: { offset: 1, epoch }, recovered: false, messages: [] });
    });

    it("does not recover from an offset beyond the room's", async () => {
      const { epoch } = await history.append(room, msg("m1"), limits);
      const replay = await history.since(room, { offset: 7, epoch }, limits);
      expect(replay).toEqual({ position: { offset: 1, epoch }, recovered: false, messages: [] });
    });

    it("answers `since` on an unknown room with a new baseline that stays valid", async () => {
      const replay = await history.since(room, { offset: 3, epoch: "gone" }, limits);
      expect(replay.recovered).toBe(false);
      expect(replay.messages).toEqual([]);
      expect(replay.position.offset).toBe(0);
      expect(await history.position(room)).toEqual(replay.position);
      const first = await history.append(room, msg("m1"), limits);
      expect(first.epoch).toBe(replay.position.epoch);
    });

    it("trims by count and reports a gap once the history no longer reaches back", async () => {
      const small = { maxEntries: 3, ttlMs: 60_000 };
      let epoch = "";
      for (let i = 1; i <= 5; i++) epoch = (await history.append(room, msg(`m${i}`), small)).epoch;
      // Kept: 3, 4, 5. From offset 2 the next needed is 3: still there.
      const ok = await history.since(room, { offset: 2, epoch }, small);
      expect(ok.recovered).toBe(true);
      expect(ok.messages.map((m) => m.offset)).toEqual([3, 4, 5]);
      const gap = await history.since(room, { offset: 1, epoch }, small);
      expect(gap).toEqual({ position: { offset: 5, epoch }, recovered: false, messages: [] });
      expect((await history.since(room, { offset: 0, epoch }, small)).recovered).toBe(false);
      expect((await history.since(room, { offset: 5, epoch }, small)).recovered).toBe(true);
    });

    it("forgets the ids of trimmed messages: a repeat is then a new message", async () => {
      const small = { maxEntries: 2, ttlMs: 60_000 };
      await history.append(room, msg("m1"), small);
      await history.append(room, msg("m2"), small);
      await history.append(room, msg("m3"), small);
      expect(await history.append(room, msg("m2"), small)).toMatchObject({ offset: 2, duplicate: true });
      expect(await history.append(room, msg("m1"), small)).toMatchObject({ offset: 4, duplicate: false });
    });

    it("applies a smaller count limit to what is already stored", async () => {
      let epoch = "";
      for (let i = 1; i <= 6; i++) epoch = (await history.append(room, msg(`m${i}`), limits)).epoch;
      const replay = await history.since(room, { offset: 3, epoch }, { maxEntries: 2, ttlMs: 60_000 });
      expect(replay.recovered).toBe(false);
      const tail = await history.since(room, { offset: 4, epoch }, { maxEntries: 2, ttlMs: 60_000 });
      expect(tail.messages.map((m) => m.offset)).toEqual([5, 6]);
    });

    it("trims by age", async () => {
      const short = { maxEntries: 100, ttlMs: 1_000 };
      const { epoch } = await history.append(room, msg("old"), short);
      clock += 600;
      await history.append(room, msg("newer"), short);
      clock += 600; // "old" is 1 200 ms old, "newer" 600 ms.
      const gap = await history.since(room, { offset: 0, epoch }, short);
      expect(gap.recovered).toBe(false);
      const ok = await history.since(room, { offset: 1, epoch }, short);
      expect(ok.recovered).toBe(true);
      expect(ok.messages.map((m) => m.id)).toEqual(["newer"]);
      // An expired id may be used again.
      expect(await history.append(room, msg("old"), short)).toMatchObject({ offset: 3, duplicate: false });
    });

    it("keeps offset and epoch when every entry has aged out", async () => {
      const short = { maxEntries: 100, ttlMs: 1_000 };
      await history.append(room, msg("m1"), short);
      const { epoch } = await history.append(room, msg("m2"), short);
      clock += 5_000;
      expect(await history.since(room, { offset: 2, epoch }, short)).toEqual({
        position: { offset: 2, epoch },
        recovered: true,
        messages: [],
      });
      expect((await history.since(room, { offset: 1, epoch }, short)).recovered).toBe(false);
      expect(await history.append(room, msg("m3"), short)).toEqual({ offset: 3, epoch, duplicate: false });
    });

    it("reads pages forward, oldest first, after `since`", async () => {
      let epoch = "";
      for (let i = 1; i <= 7; i++) epoch = (await history.append(room, msg(`m${i}`), limits)).epoch;
      const first = await history.read(room, { limit: 3, direction: "forward" }, limits);
      expect(first.position).toEqual({ offset: 7, epoch });
      expect(first.messages.map((m) => m.offset)).toEqual([1, 2, 3]);
      expect(first.messages[0]).toEqual({ ...msg("m1"), offset: 1 });
      const next = await history.read(room, { since: 3, limit: 3, direction: "forward" }, limits);
      expect(next.messages.map((m) => m.id)).toEqual(["m4", "m5", "m6"]);
      const last = await history.read(room, { since: 6, limit: 3, direction: "forward" }, limits);
      expect(last.messages.map((m) => m.offset)).toEqual([7]);
      const past = await history.read(room, { since: 7, limit: 3, direction: "forward" }, limits);
      expect(past).toEqual({ position: { offset: 7, epoch }, messages: [] });
      const beyond = await history.read(room, { since: 99, limit: 3, direction: "forward" }, limits);
      expect(beyond.messages).toEqual([]);
    });

    it("reads pages backward, newest first, before `since`", async () => {
      let epoch = "";
      for (let i = 1; i <= 7; i++) epoch = (await history.append(room, msg(`m${i}`), limits)).epoch;
      const newest = await history.read(room, { limit: 3, direction: "backward" }, limits);
      expect(newest.position).toEqual({ offset: 7, epoch });
      expect(newest.messages.map((m) => m.offset)).toEqual([7, 6, 5]);
      const older = await history.read(room, { since: 5, limit: 3, direction: "backward" }, limits);
      expect(older.messages.map((m) => m.offset)).toEqual([4, 3, 2]);
      const oldest = await history.read(room, { since: 2, limit: 3, direction: "backward" }, limits);
      expect(oldest.messages.map((m) => m.id)).toEqual(["m1"]);
      expect(
        (await history.read(room, { since: 1, limit: 3, direction: "backward" }, limits)).messages,
      ).toEqual([]);
      expect(
        (await history.read(room, { since: 0, limit: 3, direction: "backward" }, limits)).messages,
      ).toEqual([]);
      const beyond = await history.read(room, { since: 99, limit: 2, direction: "backward" }, limits);
      expect(beyond.messages.map((m) => m.offset)).toEqual([7, 6]);
    });

    it("reads only what retention keeps, and gives an unknown room its baseline", async () => {
      const small = { maxEntries: 3, ttlMs: 60_000 };
      for (let i = 1; i <= 5; i++) await history.append(room, msg(`m${i}`), small);
      const kept = await history.read(room, { limit: 100, direction: "forward" }, small);
      expect(kept.messages.map((m) => m.offset)).toEqual([3, 4, 5]);
      const empty = await history.read(`${room}-new`, { limit: 10, direction: "backward" }, small);
      expect(empty.position.offset).toBe(0);
      expect(empty.messages).toEqual([]);
      expect(await history.position(`${room}-new`)).toEqual(empty.position);
    });

    it("trims from the oldest: an old entry behind a newer one stays until the newer goes", async () => {
      const short = { maxEntries: 100, ttlMs: 1_000 };
      const { epoch } = await history.append(room, msg("m1", { ts: T0 + 500 }), short);
      await history.append(room, msg("m2", { ts: T0 }), short); // a publisher with a slow clock
      clock += 1_200; // m2 is too old, m1 is not, and m1 is first.
      const replay = await history.since(room, { offset: 0, epoch }, short);
      expect(replay.recovered).toBe(true);
      expect(replay.messages.map((m) => m.id)).toEqual(["m1", "m2"]);
    });
  });
}
