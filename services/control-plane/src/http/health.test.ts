import { describe, expect, it } from "vitest";
import {
  consoleClient,
  DB_MODES,
  relaybaseCodeOf,
  uniqueEmail,
  useControlPlane,
} from "../testing/harness.js";

describe.each(DB_MODES)("health endpoints (%s)", (mode) => {
  const cp = useControlPlane(mode);

  it("answers /healthz and /readyz with 200 while the database answers", async () => {
    const health = await fetch(`${cp.server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    const ready = await fetch(`${cp.server.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("answers unknown routes with the shared error body", async () => {
    // Page paths (GET /nope) belong to the console (http/console.test.ts); API paths and other methods do not.
    for (const [method, path] of [
      ["GET", "/v1/nope"],
      ["POST", "/nope"],
    ] as const) {
      const res = await fetch(`${cp.server.url}${path}`, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({
        error: { code: "NOT_FOUND", message: "Not found.", retry: "never" },
      });
    }
  });

  // Only a server database can be taken away from under a running process.
  it.runIf(mode === "postgres")(
    "without Postgres: /readyz is 503 UNAVAILABLE, calls fail as INTERNAL",
    async () => {
      const { client, jar } = consoleClient(cp.server.url);
      await client.auth.signup.mutate({ email: uniqueEmail(), password: "a long password" });
      await cp.database.drop();
      const ready = await fetch(`${cp.server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({
        error: { code: "UNAVAILABLE", message: "The database does not answer.", retry: "backoff" },
      });
      expect((await fetch(`${cp.server.url}/healthz`)).status).toBe(200);

      // Unknown failures reach callers as INTERNAL with no detail of the cause.
      const res = await fetch(`${cp.server.url}/trpc/apps.list`, {
        headers: { cookie: `rb_session=${jar.session}` },
      });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).toContain('"relaybaseCode":"INTERNAL"');
      expect(text).toContain("Internal error.");
      expect(text).not.toMatch(/database|relation|rb_test|stack/i);
      expect(await relaybaseCodeOf(client.apps.list.query())).toBe("INTERNAL");

      const token = await fetch(`${cp.server.url}/v1/tokens`, {
        method: "POST",
        headers: {
          authorization: `Bearer sk_${"a".repeat(12)}_${"b".repeat(32)}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ capabilities: {} }),
      });
      expect(token.status).toBe(500);
      expect(await token.json()).toEqual({
        error: { code: "INTERNAL", message: "Internal error.", retry: "backoff" },
      });
    },
  );
});
