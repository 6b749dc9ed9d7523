import { Writable } from "node:stream";
import {
  type AppRuntime,
  MemoryRoomHistory,
  MemoryTenantDirectory,
  newAppId,
  newPublishableKey,
  newSecretKey,
  PLANS,
  Publisher,
} from "@relaybase/server-kit";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createRestPublishApi, metricsOf } from "./app.js";

/** A REST API with one app, logging JSON lines into `lines` (request lines on unless told). */
async function apiWithApp(requestLog = true) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const directory = new MemoryTenantDirectory();
  const { keyId, secret, hash } = newSecretKey();
  const app: AppRuntime = {
    appId: newAppId(),
    orgId: "org_test",
    name: "test",
    allowedOrigins: [],
    anonymousCaps: {},
    clientPublish: true,
    plan: "free",
    limits: { ...PLANS.free },
    publishableKeys: [newPublishableKey()],
    secretKeys: [{ keyId, hash }],
  };
  await directory.put(app);
  const publisher = new Publisher(new MemoryRoomHistory(), {
    deliver: () => {},
    deliverToUser: () => {},
    deliverDebug: () => {},
    disconnectUser: () => {},
  });
  const api = createRestPublishApi({
    config: { BODY_LIMIT_BYTES: 1_048_576, REQUEST_LOG: requestLog },
    directory,
    publisher,
    connections: { count: async () => 0 },
    logger: pino({ level: "info" }, sink),
  });
  return { api, app, secret, lines };
}

describe("REST API logs and metrics", () => {
  it("logs a request's lines with its reqId, and with its appId once the key is checked", async () => {
    const { api, app, secret, lines } = await apiWithApp();
    const res = await api.inject({
      method: "POST",
      url: `/v1/apps/${app.appId}/publish`,
      headers: { authorization: `Bearer ${secret}` },
      payload: { room: "chat:x", event: "e", data: { big: "x".repeat(70_000) } },
    });
    expect(res.statusCode).toBe(413);
    const completed = lines.find((l) => l.msg === "request completed");
    expect(completed).toMatchObject({ appId: app.appId, reqId: expect.any(String) });
    const refusals = await metricsOf(api).limitRefusals.get();
    expect(refusals.values).toEqual([
      expect.objectContaining({ labels: { app: app.appId, code: "MESSAGE_TOO_LARGE" }, value: 1 }),
    ]);
    await api.close();
  });

  it("an unauthorized request carries no appId and counts no limit refusal", async () => {
    const { api, app, lines } = await apiWithApp();
    const res = await api.inject({
      method: "POST",
      url: `/v1/apps/${app.appId}/publish`,
      headers: { authorization: "Bearer sk_nope_nope" },
      payload: { room: "chat:x", event: "e", data: {} },
    });
    expect(res.statusCode).toBe(401);
    expect(lines.find((l) => l.msg === "request completed")).not.toHaveProperty("appId");
    expect((await metricsOf(api).limitRefusals.get()).values).toEqual([]);
    await api.close();
  });

  it("writes no per-request lines unless REQUEST_LOG is on", async () => {
    const { api, app, secret, lines } = await apiWithApp(false);
    const res = await api.inject({
      method: "POST",
      url: `/v1/apps/${app.appId}/publish`,
      headers: { authorization: `Bearer ${secret}` },
      payload: { room: "chat:x", event: "e", data: {} },
    });
    expect(res.statusCode).toBe(202);
    expect(lines.filter((l) => l.msg === "incoming request" || l.msg === "request completed")).toEqual([]);
    await api.close();
  });
});
