import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWebhookReceiver, type WebhookReceiver } from "@relaybase/control-plane/testing";
import { createClient, type RelaybaseClient } from "@relaybase/sdk";
import { verifyWebhook, type WebhookEvent } from "@relaybase/sdk/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, startCluster } from "../../scripts/cluster/processes.js";
import { signUpDeveloper } from "../fixtures.js";

/**
 * Webhooks in a real cluster (separate processes): presence events travel node → Redis
 * stream → the control plane's dispatcher → the Postgres-side outbox (PGlite here) → a real
 * receiver. A node killed with SIGKILL: its member's `member_removed` is sent by the survivor
 * that sweeps its lapsed lease, once.
 */
let cluster: Cluster;
let receiver: WebhookReceiver;
let dataDir: string;
const clients: RelaybaseClient<object>[] = [];
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "rb-cluster-hooks-"));
  cluster = await startCluster({
    nodes: 2,
    restInstances: 1,
    dataDir,
    env: {
      WEBHOOK_ALLOW_HTTP: "true",
      WEBHOOK_ALLOW_PRIVATE_URLS: "true",
      WEBHOOK_POLL_MS: "50",
      PRESENCE_LEASE_MS: "2000",
      ROOM_LEASE_MS: "1000",
      ROOM_WEBHOOK_DEBOUNCE_MS: "500",
    },
  });
  receiver = await startWebhookReceiver();
}, 120_000);
afterAll(async () => {
  for (const c of clients) c.close();
  await receiver?.close();
  await cluster?.close();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

describe("webhooks in a two-node cluster", () => {
  it("sends member and room events from each node, and the dead node's member_removed and room.vacated once, signed", async () => {
    const dev = await signUpDeveloper({ controlPlane: cluster.controlPlane.url, rest: cluster.rest[0]!.url });
    const { secret } = await dev.trpc.webhooks.create.mutate({
      appId: dev.appId,
      url: receiver.url,
      events: ["presence.member_added", "presence.member_removed", "room.occupied", "room.vacated"],
    });
    const connect = async (userId: string, url: string) => {
      const { token } = await dev.server.createToken({
        userId,
        capabilities: { "team:*": ["presence", "subscribe"] },
      });
      const client = createClient({
        url,
        key: dev.publishableKey,
        transports: ["websocket"],
        getToken: async () => token,
      });
      clients.push(client as RelaybaseClient<object>);
      return client;
    };
    // The nodes learn of the endpoint through the tenant directory (changes reach them over
    // pub/sub): a probe per node enters until its event arrives, then the scenario starts.
    for (const [i, node] of cluster.nodes.entries()) {
      const probe = await connect(`probe${i}`, node.url);
      await expect
        .poll(async () => {
          await probe.room(`team:probe${i}`).presence.enter({});
          await probe.room(`team:probe${i}`).presence.leave();
          return receiver.received.some((r) => r.body.includes(`team:probe${i}`));
        })
        .toBe(true);
    }
    const ann = await connect("ann", cluster.nodes[0]!.url);
    const bob = await connect("bob", cluster.nodes[1]!.url);
    await ann.room("team:1").presence.enter({ on: 1 });
    await bob.room("team:1").presence.enter({ on: 2 });
    await ann.room("team:live-ann").subscribe();
    await bob.room("team:live-bob").subscribe();

    const events = async (): Promise<WebhookEvent[]> => {
      const out: WebhookEvent[] = [];
      for (const r of receiver.received) {
        out.push(
          ...(await verifyWebhook({ headers: r.headers as Record<string, string>, body: r.body }, secret))
            .events,
        );
      }
      return out;
    };
    const seen = async () =>
      (await events())
        .filter((e) => !(e.data as { room: string }).room.startsWith("team:probe"))
        .map(
          (e) =>
            `${e.type} ${(e.data as { userId?: string; room: string }).userId ?? (e.data as { room: string }).room}`,
        )
        .sort();
    await expect
      .poll(seen)
      .toEqual([
        "presence.member_added ann",
        "presence.member_added bob",
        "room.occupied team:live-ann",
        "room.occupied team:live-bob",
      ]);

    await cluster.nodes[0]!.stop("SIGKILL");
    await expect
      .poll(seen, { timeout: 30_000 })
      .toEqual([
        "presence.member_added ann",
        "presence.member_added bob",
        "presence.member_removed ann",
        "room.occupied team:live-ann",
        "room.occupied team:live-bob",
        "room.vacated team:live-ann",
      ]);
    // A marker from the survivor after the sweep: a second removal (or Bob's) would come before it.
    await bob.room("team:2").presence.enter({});
    await expect.poll(async () => (await seen()).length).toBe(7);
    expect(await seen()).toEqual([
      "presence.member_added ann",
      "presence.member_added bob",
      "presence.member_added bob",
      "presence.member_removed ann",
      "room.occupied team:live-ann",
      "room.occupied team:live-bob",
      "room.vacated team:live-ann",
    ]);
  }, 90_000);
});
