/**
 * Metrics of the all-in-one process (`npm start` with METRICS_PORT): one listener serves
 * every service's series and the process metrics once; the public ports never serve
 * /metrics. Real traffic moves the series: a client connects and subscribes, a REST
 * publish reaches it, a handshake and a publish are refused.
 */
import { createClient } from "@relaybase/sdk";
import { io as ioClient } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../e2e/fixtures.js";
import { sampleOf, scrape, typeLines } from "./prometheus.js";

let p: TestPlatform;
let metricsUrl: string;
beforeAll(async () => {
  p = await startTestPlatform({ METRICS_PORT: "0" });
  metricsUrl = p.urls.metrics as string;
});
afterAll(async () => {
  await p?.close();
});

const metrics = () => scrape(metricsUrl);

describe("metrics of the all-in-one process", () => {
  it("serve /metrics on METRICS_PORT only, never on a public port", async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    for (const url of [p.urls.controlPlane, p.urls.realtime, p.urls.rest]) {
      expect((await fetch(`${url}/metrics`)).status, url).toBe(404);
    }
    expect((await fetch(metricsUrl.replace("/metrics", "/healthz"))).status).toBe(404);
  });

  it("hold every service's series, and the process metrics once", async () => {
    const text = await metrics();
    for (const name of [
      "relaybase_connections",
      "relaybase_handshakes_total",
      "relaybase_handshake_refusals_total",
      "relaybase_messages_published_total",
      "relaybase_messages_delivered_total",
      "relaybase_publish_delivery_seconds",
      "relaybase_history_write_seconds",
      "relaybase_limit_refusals_total",
      "relaybase_rest_request_duration_seconds",
      "relaybase_usage_rollups_total",
      "relaybase_quota_warnings_total",
      "relaybase_unhandled_rejections_total",
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
    ]) {
      expect(typeLines(text, name), name).toBe(1);
    }
    // Embedded: the in-memory adapter has no stream to lag behind.
    expect(typeLines(text, "relaybase_adapter_stream_lag_entries")).toBe(0);
  });

  it("move with a connection, a subscription and a REST publish delivered to it", async () => {
    const dev = await p.developer();
    const app = { app: dev.appId };
    const client = p.client({
      key: dev.publishableKey,
      getToken: async () =>
        (await dev.server.createToken({ userId: "alice", capabilities: { "chat:*": ["subscribe"] } })).token,
    });
    const room = client.room("chat:lobby");
    const received = new Promise((resolve) => room.on("greeting", resolve));
    await room.subscribe();
    await expect.poll(async () => sampleOf(await metrics(), "relaybase_connections", app)).toBe(1);

    await dev.server.publish({ room: "chat:lobby", event: "greeting", data: { text: "hello" } });
    expect(await received).toEqual({ text: "hello" });

    await expect
      .poll(async () => sampleOf(await metrics(), "relaybase_messages_delivered_total", app))
      .toBe(1);
    const text = await metrics();
    expect(sampleOf(text, "relaybase_messages_published_total", app)).toBe(1);
    expect(sampleOf(text, "relaybase_handshakes_total", { result: "accepted" })).toBeGreaterThanOrEqual(1);
    expect(sampleOf(text, "relaybase_publish_delivery_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(sampleOf(text, "relaybase_history_write_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(
      sampleOf(text, "relaybase_rest_request_duration_seconds_count", {
        route: "/v1/apps/:appId/publish",
        status: "202",
      }),
    ).toBeGreaterThanOrEqual(1);

    client.close();
    await expect.poll(async () => sampleOf(await metrics(), "relaybase_connections", app)).toBe(0);
  });

  it("count a refused handshake under its code", async () => {
    const before = sampleOf(await metrics(), "relaybase_handshake_refusals_total", { code: "INVALID_KEY" });
    const refused = createClient({ key: "pk_doesnotexist", url: p.urls.realtime, transports: ["websocket"] });
    const code = await new Promise<string>((resolve) => refused.on("error", (error) => resolve(error.code)));
    refused.close();
    expect(code).toBe("INVALID_KEY");
    await expect
      .poll(async () =>
        sampleOf(await metrics(), "relaybase_handshake_refusals_total", { code: "INVALID_KEY" }),
      )
      .toBe(before + 1);
    expect(
      sampleOf(await metrics(), "relaybase_handshakes_total", { result: "refused" }),
    ).toBeGreaterThanOrEqual(1);
  });

  it("count a plan-limit refusal by app and code (a REST publish over the message size)", async () => {
    const dev = await p.developer();
    const res = await fetch(`${p.urls.rest}/v1/apps/${dev.appId}/publish`, {
      method: "POST",
      headers: { authorization: `Bearer ${dev.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ room: "chat:big", event: "e", data: { blob: "x".repeat(70_000) } }),
    });
    expect(res.status).toBe(413);
    expect(
      sampleOf(await metrics(), "relaybase_limit_refusals_total", {
        app: dev.appId,
        code: "MESSAGE_TOO_LARGE",
      }),
    ).toBe(1);
  });

  it("refuse a tenant's socket in the /admin namespace when the Admin UI is off", async () => {
    const dev = await p.developer();
    const socket = ioClient(`${p.urls.realtime}/admin`, {
      transports: ["websocket"],
      auth: { key: dev.publishableKey },
      reconnection: false,
    });
    const message = await new Promise<string>((resolve) =>
      socket.on("connect_error", (e) => resolve(e.message)),
    );
    socket.close();
    expect(message).toBe("Invalid namespace");
  });
});
