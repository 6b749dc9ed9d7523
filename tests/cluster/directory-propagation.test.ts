import { createClient } from "@relaybase/sdk";
import { RelaybaseHttpError } from "@relaybase/sdk/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll, until } from "../fixtures.js";
import {
  type Developer,
  type PrivatePostgres,
  probeHandshake,
  serverClient,
  startPrivatePostgres,
  startTestCluster,
  type TestCluster,
  timeUntil,
} from "./fixtures.js";

/**
 * What a developer changes in the console reaches every realtime node and REST instance
 * through the tenant directory in Redis, within seconds, without restarts: a revoked
 * publishable key, a revoked secret key, a new allowed-origins list. And the hot path
 * does not need Postgres or the control plane at all: with both gone, new clients of a
 * known app still connect to each node, subscribe, and receive REST publishes.
 *
 * The cluster's control plane runs on a private Postgres that the last test stops.
 *
 * The 5 s are a product bound (docs: a console change reaches every node within
 * seconds), so these tests assert the measured time on purpose; it is a wide bound for a
 * cache TTL of well under a second.
 */
const PROPAGATION_LIMIT_MS = 5_000;
const GOOD = "https://good.example";
const NEW = "https://new.example";

describe("tenant directory propagation across a cluster", () => {
  let pg: PrivatePostgres | undefined;
  let c: TestCluster;
  let dev: Developer;
  let nodes: [string, string];
  /** A second live publishable key, and a second secret key: rotation, the one kept. */
  let pk2: string;
  let sk2: string;
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    c = await startTestCluster({ nodes: 2, restInstances: 1, databaseUrl: pg.url });
    dev = await c.developer({ allowedOrigins: [GOOD] });
    nodes = c.cluster.nodes.map((n) => n.url) as [string, string];
    const created = await dev.trpc.keys.create.mutate({
      appId: dev.appId,
      kind: "publishable",
      name: "web 2",
    });
    pk2 = created.key.publishableKey!;
    const secret = await dev.trpc.keys.create.mutate({ appId: dev.appId, kind: "secret", name: "server 2" });
    sk2 = secret.secret!;
  }, 120_000);
  afterAll(async () => {
    console.info(
      `[directory] propagation ms (from the console call's answer to the first refusal): ${JSON.stringify(measured)}`,
    );
    await c?.close();
    await pg?.destroy();
  }, 60_000);

  it("a revoked publishable key is refused by both nodes within 5 s (INVALID_KEY); the app's other key still connects", async () => {
    // Both nodes know the key (and cache it) before the change.
    for (const node of nodes) expect(await probeHandshake(node, dev.publishableKey)).toBe("connected");

    await dev.trpc.keys.revoke.mutate({ appId: dev.appId, keyId: dev.publishableKeyId });
    const at = Date.now();
    const took = await Promise.all(
      nodes.map((node) =>
        timeUntil(() => probeHandshake(node, dev.publishableKey), "INVALID_KEY", at, PROPAGATION_LIMIT_MS),
      ),
    );
    measured["pk revoked, node 1"] = took[0]!;
    measured["pk revoked, node 2"] = took[1]!;
    for (const ms of took) expect(ms).toBeLessThanOrEqual(PROPAGATION_LIMIT_MS);

    // And it stays refused; the other key is untouched.
    for (const node of nodes) {
      expect(await probeHandshake(node, dev.publishableKey)).toBe("INVALID_KEY");
      expect(await probeHandshake(node, pk2)).toBe("connected");
    }
  });

  it("a revoked secret key is refused by the REST API within 5 s (401 INVALID_KEY); the other secret key still publishes", async () => {
    const revoked = dev.server;
    const kept = serverClient(dev.appId, sk2, c.urls.rest, c.urls.controlPlane);
    await revoked.publish({ room: "public:news", event: "before", data: {} });

    await dev.trpc.keys.revoke.mutate({ appId: dev.appId, keyId: dev.secretKeyId });
    const at = Date.now();
    let refusal: RelaybaseHttpError | undefined;
    const publishOutcome = async () => {
      try {
        await revoked.publish({ room: "public:news", event: "after", data: {} });
        return "accepted";
      } catch (err) {
        if (!(err instanceof RelaybaseHttpError)) throw err;
        refusal = err;
        return `${err.status} ${err.code}`;
      }
    };
    const took = await timeUntil(publishOutcome, "401 INVALID_KEY", at, PROPAGATION_LIMIT_MS);
    measured["sk revoked, REST"] = took;
    expect(took).toBeLessThanOrEqual(PROPAGATION_LIMIT_MS);
    expect(refusal).toMatchObject({ status: 401, code: "INVALID_KEY", retry: "never" });

    const ok = await kept.publish({ room: "public:news", event: "after", data: {} });
    expect(ok.offsets["public:news"]?.offset).toBeGreaterThan(0);
  });

  it("a new allowed-origins list applies on both nodes within 5 s (ORIGIN_NOT_ALLOWED)", async () => {
    for (const node of nodes) {
      expect(await probeHandshake(node, pk2, { origin: GOOD })).toBe("connected");
      expect(await probeHandshake(node, pk2, { origin: NEW })).toBe("ORIGIN_NOT_ALLOWED");
    }

    await dev.trpc.apps.update.mutate({ appId: dev.appId, allowedOrigins: [NEW] });
    const at = Date.now();
    const took = await Promise.all(
      nodes.map((node) =>
        timeUntil(
          () => probeHandshake(node, pk2, { origin: GOOD }),
          "ORIGIN_NOT_ALLOWED",
          at,
          PROPAGATION_LIMIT_MS,
        ),
      ),
    );
    measured["origin removed, node 1"] = took[0]!;
    measured["origin removed, node 2"] = took[1]!;
    for (const ms of took) expect(ms).toBeLessThanOrEqual(PROPAGATION_LIMIT_MS);

    for (const node of nodes) {
      expect(await probeHandshake(node, pk2, { origin: NEW })).toBe("connected");
      // Servers and native apps send no Origin: the list does not apply to them.
      expect(await probeHandshake(node, pk2)).toBe("connected");
    }
  });

  it("with Postgres stopped and the control plane killed, new clients of a known app connect to each node and get REST publishes", async () => {
    // An app no node has seen yet: what the nodes learn, they learn from Redis.
    const { app, publishableKey } = await dev.trpc.apps.create.mutate({ name: "offline" });
    const { secret } = await dev.trpc.keys.create.mutate({ appId: app.id, kind: "secret", name: "server" });
    const server = serverClient(app.id, secret!, c.urls.rest, c.urls.controlPlane);

    await pg!.stop();
    // The control plane sees its database gone…
    await poll(
      "the control plane's /readyz to say its database is gone",
      async () => (await fetch(`${c.urls.controlPlane}/readyz`)).status,
    ).toBe(503);
    await expect(dev.trpc.apps.list.query()).rejects.toThrow();
    // …and then it is gone too.
    await c.cluster.controlPlane.stop("SIGKILL");
    await expect(fetch(`${c.urls.controlPlane}/healthz`)).rejects.toThrow();

    // Two new clients through the balancer: one lands on each node.
    const before = c.cluster.balancer.connections();
    const clients = [0, 1].map(() => c.client({ key: publishableKey.publishableKey! }));
    const got: unknown[][] = clients.map(() => []);
    for (const [i, client] of clients.entries()) {
      client.room("public:news").on("headline", (data) => got[i]!.push(data));
    }
    await Promise.all(clients.map((client) => client.room("public:news").subscribe()));
    const after = c.cluster.balancer.connections();
    for (const node of nodes) expect((after[node] ?? 0) - (before[node] ?? 0)).toBe(1);

    await server.publish({ room: "public:news", event: "headline", data: { text: "no database needed" } });
    await until(() => got.every((g) => g.length === 1), "both clients to get the REST publish");
    expect(got).toEqual([[{ text: "no database needed" }], [{ text: "no database needed" }]]);

    // A client straight to each node, too: the same.
    for (const node of nodes) {
      const direct = createClient({
        url: node,
        key: publishableKey.publishableKey!,
        transports: ["websocket"],
      });
      try {
        const seen: unknown[] = [];
        direct.room("public:news").on("headline", (data) => seen.push(data));
        await direct.room("public:news").subscribe();
        await server.publish({ room: "public:news", event: "headline", data: { to: node } });
        await poll(`the direct client on ${node} to get the publish`, () => seen.length).toBe(1);
        expect(seen).toEqual([{ to: node }]);
      } finally {
        direct.close();
      }
    }
  }, 60_000);
});
