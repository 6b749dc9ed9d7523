import type { PresenceMember } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

/**
 * Presence on the embedded platform (`npm start`): SDK clients enter, the server helper
 * reads the set over REST, a client that closes leaves at once.
 */
let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
}, 60_000);
afterAll(() => p?.close(), 30_000);

describe("presence on the embedded platform", () => {
  it("members entered over the socket are listed over REST, per app; closing leaves at once", async () => {
    const dev = await p.developer();
    const other = await p.developer();
    const connect = async (userId: string) => {
      const { token } = await dev.server.createToken({
        userId,
        capabilities: { "team:*": ["subscribe", "presence"] },
      });
      return p.client({ key: dev.publishableKey, getToken: async () => token });
    };
    const watcher = await connect("watcher");
    const left: string[] = [];
    watcher.room("team:1").presence.on("leave", (m: PresenceMember) => left.push(m.userId));
    await watcher.room("team:1").subscribe();
    const ann = await connect("ann");
    const ben = await connect("ben");
    await ann.room("team:1").presence.enter({ role: "lead" });
    await ben.room("team:1").presence.enter({ role: "dev" });

    const first = await dev.server.presence("team:1", { limit: 1 });
    expect(first.count).toBe(2);
    expect(first.members).toEqual([
      { userId: "ann", connectionId: ann.connectionId, data: { role: "lead" } },
    ]);
    const second = await dev.server.presence("team:1", { limit: 1, cursor: first.nextCursor! });
    expect(second.members.map((m) => m.userId)).toEqual(["ben"]);
    expect(second.nextCursor).toBeUndefined();
    expect(await other.server.presence("team:1")).toEqual({ members: [], count: 0 });

    ben.close();
    await expect.poll(() => left).toEqual(["ben"]);
    expect((await dev.server.presence("team:1")).members.map((m) => m.userId)).toEqual(["ann"]);
  });
});
