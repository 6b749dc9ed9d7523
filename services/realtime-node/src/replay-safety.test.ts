import type { MessageEnvelope } from "@relaybase/protocol";
import { MemoryRoomHistory, retentionOf, roomKey } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connected, emitAck, type NodeFixture, startNode } from "./test-fixtures.js";

/**
 * A history entry that no publish could store today (one kept from before data depth was
 * bounded) must not make every replay through it fail: it is reported as a skipped
 * offset and the rest of the replay arrives.
 */
describe("replay with an entry that cannot be encoded", () => {
  const history = new MemoryRoomHistory();
  let f: NodeFixture;
  beforeAll(async () => {
    f = await startNode({}, { history });
  });
  afterAll(() => f.close());

  it("answers the subscribe with the other messages and the bad offset as skipped", async () => {
    const app = await f.addApp();
    const key = roomKey(app.appId, "public:old");
    let deep: unknown = [];
    for (let i = 0; i < 5_000; i++) deep = [deep];
    const limits = retentionOf(app);
    await history.append(key, { id: "a", event: "e", data: 1, ts: Date.now() }, limits);
    // Written straight into the history, past the Publisher's validation.
    await history.append(key, { id: "b", event: "e", data: deep, ts: Date.now() }, limits);
    const { epoch } = await history.append(key, { id: "c", event: "e", data: 3, ts: Date.now() }, limits);

    const socket = await connected(f.client({ key: app.publishableKeys[0] }));
    const ack = await emitAck(socket, "subscribe", { room: "public:old", since: { offset: 0, epoch } });
    expect(ack).toMatchObject({ ok: true, offset: 3, recovered: true, skipped: [2] });
    expect(ack.messages.map((m: MessageEnvelope) => [m.offset, m.data])).toEqual([
      [1, 1],
      [3, 3],
    ]);
  });
});
