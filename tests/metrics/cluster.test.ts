/**
 * Metrics and the Admin UI of standalone services in a cluster (separate processes, as
 * scripts/cluster starts them, each with a METRICS_PORT of its own): a client on node 1,
 * a REST publish through the adapter stream, a refused handshake; the adapter-lag gauge
 * of both nodes; the Admin UI's `/admin` namespace on the streams adapter, one serverId
 * per node, and no tenant traffic in it.
 */
import bcrypt from "bcryptjs";
import { io as ioClient, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Developer, startTestCluster, type TestCluster } from "../cluster/fixtures.js";
import { sampleOf, scrape, typeLines } from "./prometheus.js";

const ADMIN_PASSWORD = "a long admin password for the cluster";

let c: TestCluster;
let dev: Developer;
const sockets: Socket[] = [];
beforeAll(async () => {
  c = await startTestCluster({
    nodes: 2,
    metrics: true,
    env: { ADMIN_UI_ENABLED: "true", ADMIN_UI_PASSWORD_HASH: bcrypt.hashSync(ADMIN_PASSWORD, 4) },
  });
  dev = await c.developer();
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await c?.close();
});

const node = (i: number) => c.cluster.nodes[i]!;
const metricsOf = (service: { metricsUrl?: string }) => scrape(service.metricsUrl as string);

describe("metrics of standalone services in a cluster", () => {
  it("each service serves /metrics on its METRICS_PORT, not on its public port", async () => {
    const services = [c.cluster.controlPlane, ...c.cluster.nodes, ...c.cluster.rest];
    for (const service of services) {
      const text = await metricsOf(service);
      expect(typeLines(text, "process_cpu_user_seconds_total"), service.name).toBe(1);
      expect(typeLines(text, "nodejs_eventloop_lag_seconds"), service.name).toBe(1);
      expect(typeLines(text, "relaybase_unhandled_rejections_total"), service.name).toBe(1);
      expect((await fetch(`${service.url}/metrics`)).status, service.name).toBe(404);
    }
    expect(typeLines(await metricsOf(c.cluster.controlPlane), "relaybase_usage_rollups_total")).toBe(1);
  });

  it("a REST publish delivered through the adapter stream moves the node's and the REST API's series", async () => {
    const app = { app: dev.appId };
    const client = c.client({
      key: dev.publishableKey,
      url: node(0).url,
      getToken: async () =>
        (await dev.server.createToken({ userId: "alice", capabilities: { "chat:*": ["subscribe"] } })).token,
    });
    const room = client.room("chat:lobby");
    const received = new Promise((resolve) => room.on("greeting", resolve));
    await room.subscribe();
    await expect.poll(async () => sampleOf(await metricsOf(node(0)), "relaybase_connections", app)).toBe(1);

    await dev.server.publish({ room: "chat:lobby", event: "greeting", data: { text: "hello" } });
    expect(await received).toEqual({ text: "hello" });

    await expect
      .poll(async () => sampleOf(await metricsOf(node(0)), "relaybase_messages_delivered_total", app))
      .toBe(1);
    const nodeText = await metricsOf(node(0));
    expect(sampleOf(nodeText, "relaybase_publish_delivery_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(sampleOf(nodeText, "relaybase_handshakes_total", { result: "accepted" })).toBeGreaterThanOrEqual(
      1,
    );
    // Stored by the REST instance: its series count the publish and its history write.
    const restText = await metricsOf(c.cluster.rest[0]!);
    expect(sampleOf(restText, "relaybase_messages_published_total", app)).toBe(1);
    expect(sampleOf(restText, "relaybase_history_write_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(
      sampleOf(restText, "relaybase_rest_request_duration_seconds_count", {
        route: "/v1/apps/:appId/publish",
        status: "202",
      }),
    ).toBe(1);
    // The other node holds no connection of this app and delivered nothing.
    expect(sampleOf(await metricsOf(node(1)), "relaybase_messages_delivered_total", app)).toBe(0);
  });

  it("both nodes report their adapter stream lag, back to 0 once they have read the stream", async () => {
    for (const n of c.cluster.nodes) {
      expect(typeLines(await metricsOf(n), "relaybase_adapter_stream_lag_entries"), n.name).toBe(1);
      await expect
        .poll(async () => sampleOf(await metricsOf(n), "relaybase_adapter_stream_lag_entries"), {
          timeout: 10_000,
        })
        .toBe(0);
    }
  });

  it("a refused handshake counts under its code on the node that refused it", async () => {
    const before = sampleOf(await metricsOf(node(1)), "relaybase_handshake_refusals_total", {
      code: "INVALID_KEY",
    });
    const socket = ioClient(node(1).url, {
      transports: ["websocket"],
      auth: { key: "pk_unknown" },
      reconnection: false,
    });
    sockets.push(socket);
    const error = await new Promise<{ data?: { code?: string } }>((resolve) =>
      socket.once("connect_error", resolve),
    );
    expect(error.data?.code).toBe("INVALID_KEY");
    await expect
      .poll(async () =>
        sampleOf(await metricsOf(node(1)), "relaybase_handshake_refusals_total", { code: "INVALID_KEY" }),
      )
      .toBe(before + 1);
  });
});

describe("the Admin UI on cluster nodes", () => {
  const admin = (url: string, auth: Record<string, unknown>) => {
    const socket = ioClient(`${url}/admin`, { auth, transports: ["websocket"], reconnection: false });
    sockets.push(socket);
    return socket;
  };
  const outcome = (socket: Socket) =>
    new Promise<string>((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("connect_error", (err) => resolve(err.message));
    });

  it("sees every node through the adapter, each under its own serverId", async () => {
    const socket = admin(node(0).url, { username: "admin", password: ADMIN_PASSWORD });
    const serverIds = new Set<string>();
    socket.on("server_stats", (stats: { serverId: string }) => serverIds.add(stats.serverId));
    expect(await outcome(socket)).toBe("connected");
    // Stats come every 2 s from each node, through the shared stream.
    await expect.poll(() => serverIds.size, { timeout: 15_000 }).toBe(2);
  });

  it("refuses a wrong password, no credentials and a tenant's key", async () => {
    expect(await outcome(admin(node(1).url, { username: "admin", password: "not it" }))).toBe(
      "invalid credentials",
    );
    expect(await outcome(admin(node(1).url, {}))).toBe("invalid credentials");
    expect(await outcome(admin(node(1).url, { key: dev.publishableKey }))).toBe("invalid credentials");
  });

  it("carries no tenant message, while tenants on both nodes get theirs", async () => {
    const operator = admin(node(1).url, { username: "admin", password: ADMIN_PASSWORD });
    const seen: string[] = [];
    operator.onAny((event) => seen.push(event));
    expect(await outcome(operator)).toBe("connected");
    const token = async () =>
      (await dev.server.createToken({ userId: "bob", capabilities: { "chat:*": ["subscribe"] } })).token;
    const clients = [0, 1].map((i) =>
      c.client({ key: dev.publishableKey, url: node(i).url, getToken: token }),
    );
    const rooms = clients.map((client) => client.room("chat:admin-check"));
    const received = rooms.map((room) => new Promise((resolve) => room.on("e", resolve)));
    await Promise.all(rooms.map((room) => room.subscribe()));
    await dev.server.publish({ room: "chat:admin-check", event: "e", data: { ok: true } });
    expect(await Promise.all(received)).toEqual([{ ok: true }, { ok: true }]);
    expect(seen.filter((e) => !["server_stats", "config", "session"].includes(e))).toEqual([]);
  });
});
