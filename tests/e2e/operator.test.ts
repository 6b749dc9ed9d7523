import { PLANS } from "@relaybase/server-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

const OPERATOR_TOKEN = "operator-token-for-tests-0123456789";
let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform({ OPERATOR_TOKEN });
});
afterAll(() => p.close());

async function operator(method: string, path: string, body?: unknown, token = OPERATOR_TOKEN) {
  const res = await fetch(`${p.urls.controlPlane}/operator/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

describe("operator limit overrides", () => {
  it("apply to the running platform at once, on top of the plan", async () => {
    const dev = await p.developer();
    const big = { room: "public:x", event: "e", data: "x".repeat(2_000) };
    await dev.server.publish(big);

    const set = await operator("PUT", `/apps/${dev.appId}/limits`, {
      limits: { maxMessageBytes: 1_024 },
      note: "abuse report #12",
    });
    expect(set).toMatchObject({
      status: 200,
      body: {
        plan: "free",
        overrides: { maxMessageBytes: 1_024 },
        limits: { ...PLANS.free, maxMessageBytes: 1_024 },
      },
    });
    await expect(dev.server.publish(big)).rejects.toMatchObject({ code: "MESSAGE_TOO_LARGE", status: 413 });

    await operator("PUT", `/apps/${dev.appId}/limits`, { limits: {} });
    expect((await operator("GET", `/apps/${dev.appId}/limits`)).body.limits).toEqual(PLANS.free);
    await dev.server.publish(big);
  });

  it("refuses a wrong token, an unknown app, and unknown limit names", async () => {
    const dev = await p.developer();
    expect((await operator("GET", `/apps/${dev.appId}/limits`, undefined, "x".repeat(35))).status).toBe(401);
    expect((await operator("GET", "/apps/app_missing0000000000/limits")).body.error.code).toBe(
      "APP_NOT_FOUND",
    );
    const typo = await operator("PUT", `/apps/${dev.appId}/limits`, { limits: { maxConections: 5 } });
    expect(typo).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
  });

  it("does not exist without OPERATOR_TOKEN", async () => {
    const plain = await startTestPlatform();
    try {
      const res = await fetch(`${plain.urls.controlPlane}/operator/v1/apps/app_x/limits`);
      expect(res.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});
