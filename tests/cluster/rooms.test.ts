import type { RelaybaseClient } from "@relaybase/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../fixtures.js";
import { type Developer, startTestCluster, type TestCluster } from "./fixtures.js";

/**
 * Room occupancy in a real cluster: two realtime nodes, a REST instance and Redis as
 * separate processes, with the default ROOM_LEASE_MS (5 s, docs/rooms.md). Clients on both
 * nodes subscribe; the REST room list, room info and history agree with what they did and
 * saw. A node killed with SIGKILL: its subscribers leave the counts within the lease.
 * Another app's key sees nothing of this app.
 */
describe("rooms in a two-node cluster", () => {
  let c: TestCluster;

  beforeAll(async () => {
    c = await startTestCluster({ nodes: 2, restInstances: 1 });
  }, 90_000);
  afterAll(() => c?.close(), 30_000);

  const caps = { "doc:*": ["subscribe", "publish", "presence"] } as const;
  /** A client of `dev`'s app connected straight to one node (no balancer: it stays there). */
  async function client(dev: Developer, userId: string, url: string) {
    const { token } = await dev.server.createToken({ userId, capabilities: caps as never });
    return c.client({ key: dev.publishableKey, url, getToken: async () => token });
  }
  const rooms = async (dev: Developer) => (await dev.server.rooms()).rooms;

  it("the room list, room info and history agree with what clients on both nodes did and saw; SIGKILL takes a node's subscribers out", async () => {
    const [victim, survivor] = c.cluster.nodes as [(typeof c.cluster.nodes)[0], (typeof c.cluster.nodes)[0]];
    const dev = await c.developer();
    const other = await c.developer();
    // doc:shared: 3 subscribers on the victim, 2 on the survivor; doc:victim and doc:survivor on one node each.
    const onVictim: RelaybaseClient<Record<string, unknown>>[] = [];
    const onSurvivor: RelaybaseClient<Record<string, unknown>>[] = [];
    for (let i = 0; i < 3; i++) onVictim.push(await client(dev, `v${i}`, victim.url));
    for (let i = 0; i < 2; i++) onSurvivor.push(await client(dev, `s${i}`, survivor.url));
    await Promise.all([...onVictim, ...onSurvivor].map((cl) => cl.room("doc:shared").subscribe()));
    await onVictim[0]!.room("doc:victim").subscribe();
    await onVictim[1]!.room("doc:victim").subscribe();
    await onSurvivor[0]!.room("doc:survivor").subscribe();
    await onSurvivor[1]!.room("doc:shared").presence.enter({ here: true });
    await onVictim[2]!.room("doc:shared").presence.enter({ here: true });
    // Another app, the same room name, on both nodes.
    const theirs = await client(other, "t0", victim.url);
    await theirs.room("doc:shared").subscribe();

    // Messages from both nodes; every subscriber sees all of them, in the same order.
    const seen = new Map<RelaybaseClient<Record<string, unknown>>, number[]>();
    for (const cl of [...onVictim, ...onSurvivor]) {
      const offsets: number[] = [];
      seen.set(cl, offsets);
      cl.room("doc:shared").on("*", (_d, meta) => offsets.push(meta.offset));
    }
    for (let i = 0; i < 3; i++) await onVictim[0]!.room("doc:shared").publish("n", { i });
    for (let i = 0; i < 2; i++) await onSurvivor[0]!.room("doc:shared").publish("n", { i });
    await poll("every subscriber to see 5 messages", () => [...seen.values()].map((o) => o.length)).toEqual([
      5, 5, 5, 5, 5,
    ]);

    await poll("the room list", () => rooms(dev)).toEqual([
      { room: "doc:shared", subscribers: 5, members: 2 },
      { room: "doc:survivor", subscribers: 1, members: 0 },
      { room: "doc:victim", subscribers: 2, members: 0 },
    ]);
    const info = await dev.server.room("doc:shared");
    const position = onSurvivor[1]!.room("doc:shared").position!;
    expect(info).toEqual({ room: "doc:shared", subscribers: 5, members: 2, ...position });
    expect(info.offset).toBe(5);
    const history = await dev.server.history("doc:shared");
    expect(history.epoch).toBe(info.epoch);
    expect(history.messages.map((m) => m.offset)).toEqual(seen.get(onVictim[0]!));
    // Another app's key: its own app only, never this one's. Its subscribe may still be in the
    // node's next occupancy write (within flushDelayMs, 100 ms: docs/rooms.md), so it is polled.
    await poll("the other app's room list", () => rooms(other)).toEqual([
      { room: "doc:shared", subscribers: 1, members: 0 },
    ]);
    const mismatch = await fetch(`${c.urls.rest}/v1/apps/${dev.appId}/rooms`, {
      headers: { authorization: `Bearer ${other.secret}` },
    });
    expect(mismatch.status).toBe(403);

    // An unsubscribe on one node shows cluster-wide.
    await onSurvivor[0]!.room("doc:survivor").unsubscribe();
    await poll("doc:survivor to empty", async () => (await dev.server.room("doc:survivor")).subscribers).toBe(
      0,
    );

    const killedAt = Date.now();
    victim.process.kill("SIGKILL");
    await poll(
      "the dead node's subscribers to leave the counts",
      async () => (await rooms(dev)).map((r) => [r.room, r.subscribers]),
      { timeoutMs: 30_000 },
    ).toEqual([["doc:shared", 2]]);
    const goneMs = Date.now() - killedAt;
    console.info(
      `[rooms-cluster] SIGKILL of a node with 5 of 8 subscriptions: the room list showed only the survivor's ` +
        `${goneMs} ms after the kill (documented bound: ROOM_LEASE_MS, 5 s)`,
    );
    // Its presence member leaves with the presence lease (docs/presence.md).
    await poll("the dead node's member to leave", () => rooms(dev), { timeoutMs: 30_000 }).toEqual([
      { room: "doc:shared", subscribers: 2, members: 1 },
    ]);
    // The other app's count was on the same node lease, so it went with this app's.
    expect(await rooms(other), `the other app's client is ${theirs.state}`).toEqual([]);
    expect(await dev.server.room("doc:victim")).toMatchObject({ subscribers: 0, members: 0 });
  }, 120_000);
});
