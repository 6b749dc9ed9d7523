import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  type RunningControlPlane,
  startControlPlane,
  type TestDatabase,
} from "../testing/harness.js";

describe("the console at / (a stand-in build)", () => {
  let dir: string;
  let database: TestDatabase;
  let cp: RunningControlPlane;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rb-console-dist-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>console</title>");
    await writeFile(join(dir, "assets", "index-abc123.js"), "console.log(1)");
    await writeFile(join(dir, "robots.txt"), "User-agent: *");
    await writeFile(join(tmpdir(), "rb-outside.txt"), "outside");
    database = await createTestDatabase("pglite");
    cp = await startControlPlane(database, {
      CONSOLE_DIR: dir,
      REALTIME_PUBLIC_URL: "https://rt.example.com",
      REST_PUBLIC_URL: "https://rest.example.com",
    });
  });
  afterAll(async () => {
    await cp?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${cp.url}${path}`, { headers });

  it("serves index.html at / and at every page path, with a strict CSP", async () => {
    for (const path of ["/", "/apps", "/apps/app_x/keys", "/invite/inv_abc", "/login?next=%2Fapps"]) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(await res.text()).toContain("<title>console</title>");
    }
  });

  it("serves built files; hashed assets are immutable; a missing file is a 404, not the page", async () => {
    const asset = await get("/assets/index-abc123.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect(await asset.text()).toBe("console.log(1)");
    expect((await get("/robots.txt")).headers.get("cache-control")).toBe("no-cache");
    const missing = await get("/assets/gone.js");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("never leaves its folder", async () => {
    for (const path of [
      "/%2e%2e/rb-outside.txt",
      "/assets/%2e%2e/%2e%2e/rb-outside.txt",
      "/..%2frb-outside.txt",
    ]) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 404]);
    }
  });

  it("does not shadow the API: unknown API paths stay JSON 404s, real ones answer", async () => {
    // /metrics lives on METRICS_PORT, never on the public port: here it is an API 404, not the page.
    for (const path of [
      "/trpc",
      "/v1/nope",
      "/v1",
      "/.well-known/nope",
      "/operator/v1/x",
      "/webhooks/x",
      "/metrics",
    ]) {
      const res = await get(path, { accept: "text/html" });
      expect([path, res.status, res.headers.get("content-type")]).toEqual([
        path,
        404,
        "application/json; charset=utf-8",
      ]);
    }
    expect(await (await get("/healthz")).json()).toEqual({ ok: true });
    expect((await (await get("/.well-known/jwks.json")).json()) as object).toHaveProperty("keys");
    expect((await get("/trpc/auth.me")).status).toBe(401);
  });

  it("tells the page where the platform is at run time", async () => {
    const res = await get("/console-config.json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({
      controlPlaneUrl: cp.config.PUBLIC_URL,
      realtimeUrl: "https://rt.example.com",
      restUrl: "https://rest.example.com",
      billingEnabled: false,
    });
  });
});

describe("the console at / without a build", () => {
  it("says how to build it, and the API works as ever", async () => {
    const database = await createTestDatabase("pglite");
    const cp = await startControlPlane(database, { CONSOLE_DIR: join(tmpdir(), "rb-no-such-console") });
    try {
      const res = await fetch(`${cp.url}/apps`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("npm run build -w @relaybase/console");
      expect(await (await fetch(`${cp.url}/console-config.json`)).json()).toMatchObject({
        realtimeUrl: null,
      });
      expect((await fetch(`${cp.url}/healthz`)).status).toBe(200);
    } finally {
      await cp.close();
      await database.drop();
    }
  });
});
