import { PLANS } from "@relaybase/server-kit";
import { describe, expect, it } from "vitest";
import {
  consoleClient,
  DB_MODES,
  relaybaseCodeOf,
  uniqueEmail,
  useControlPlane,
} from "../../../testing/harness.js";

async function signedIn(url: string) {
  const session = consoleClient(url);
  await session.client.auth.signup.mutate({ email: uniqueEmail(), password: "a long password" });
  return session.client;
}

describe.each(DB_MODES)("apps over tRPC (%s)", (mode) => {
  const cp = useControlPlane(mode);

  it("creates, lists, gets, updates and deletes an app", async () => {
    const client = await signedIn(cp.server.url);
    const { app, publishableKey } = await client.apps.create.mutate({ name: "Chat" });
    expect(app.id).toMatch(/^app_/);
    expect(app).toMatchObject({
      name: "Chat",
      allowedOrigins: [],
      anonymousCaps: { "public:*": ["subscribe"] },
      clientPublish: true,
    });
    expect(publishableKey).toMatchObject({ kind: "publishable", appId: app.id, revokedAt: null });
    expect(publishableKey.publishableKey).toMatch(/^pk_/);

    const second = await client.apps.create.mutate({
      name: "Dashboard",
      allowedOrigins: ["https://app.example.com", "http://localhost:5173", "https://*.example.org"],
      anonymousCaps: {},
      clientPublish: false,
    });
    expect((await client.apps.list.query()).map((a) => a.id)).toEqual([app.id, second.app.id]);
    expect(await client.apps.get.query({ appId: second.app.id })).toMatchObject({
      allowedOrigins: ["https://app.example.com", "http://localhost:5173", "https://*.example.org"],
      anonymousCaps: {},
      clientPublish: false,
    });

    const updated = await client.apps.update.mutate({
      appId: app.id,
      name: "Chat v2",
      anonymousCaps: { "public:*": ["subscribe", "history"] },
    });
    expect(updated).toMatchObject({
      name: "Chat v2",
      anonymousCaps: { "public:*": ["subscribe", "history"] },
    });
    expect(updated.clientPublish).toBe(true); // untouched
    expect(Date.parse(updated.updatedAt)).toBeGreaterThanOrEqual(Date.parse(app.updatedAt));

    expect(await client.apps.delete.mutate({ appId: app.id })).toEqual({ ok: true, appId: app.id });
    expect((await client.apps.list.query()).map((a) => a.id)).toEqual([second.app.id]);
    expect(await relaybaseCodeOf(client.apps.get.query({ appId: app.id }))).toBe("NOT_FOUND");
  });

  it("rejects bad settings with BAD_REQUEST", async () => {
    const client = await signedIn(cp.server.url);
    expect(await relaybaseCodeOf(client.apps.create.mutate({ name: "" }))).toBe("BAD_REQUEST");
    expect(
      await relaybaseCodeOf(
        client.apps.create.mutate({ name: "x", allowedOrigins: ["https://example.com/path"] }),
      ),
    ).toBe("BAD_REQUEST");
    expect(
      await relaybaseCodeOf(
        // biome-ignore lint/suspicious/noExplicitAny: deliberately sending what the types forbid
        client.apps.create.mutate({ name: "x", anonymousCaps: { "public:*": ["fly"] } as any }),
      ),
    ).toBe("BAD_REQUEST");
  });

  it("keeps other users' apps invisible: NOT_FOUND for every app procedure", async () => {
    const owner = await signedIn(cp.server.url);
    const stranger = await signedIn(cp.server.url);
    const { app } = await owner.apps.create.mutate({ name: "Private" });

    expect(await stranger.apps.list.query()).toEqual([]);
    expect(await relaybaseCodeOf(stranger.apps.get.query({ appId: app.id }))).toBe("NOT_FOUND");
    expect(await relaybaseCodeOf(stranger.apps.update.mutate({ appId: app.id, name: "Mine now" }))).toBe(
      "NOT_FOUND",
    );
    expect(await relaybaseCodeOf(stranger.apps.delete.mutate({ appId: app.id }))).toBe("NOT_FOUND");
    expect(await relaybaseCodeOf(stranger.keys.list.query({ appId: app.id }))).toBe("NOT_FOUND");
    expect(
      await relaybaseCodeOf(stranger.keys.create.mutate({ appId: app.id, kind: "secret", name: "steal" })),
    ).toBe("NOT_FOUND");
    // Not in another user's org either.
    const strangerOrg = (await stranger.auth.me.query()).orgs[0]!.id;
    expect(await relaybaseCodeOf(owner.apps.create.mutate({ name: "x", orgId: strangerOrg }))).toBe(
      "NOT_FOUND",
    );

    expect((await owner.apps.get.query({ appId: app.id })).name).toBe("Private");
  });

  it("keeps the tenant directory in step with every change", async () => {
    const client = await signedIn(cp.server.url);
    const { app, publishableKey } = await client.apps.create.mutate({ name: "Live" });
    const pk = publishableKey.publishableKey!;

    const runtime = await cp.server.directory.byPublishableKey(pk);
    expect(runtime).toMatchObject({
      appId: app.id,
      orgId: app.orgId,
      name: "Live",
      allowedOrigins: [],
      anonymousCaps: { "public:*": ["subscribe"] },
      clientPublish: true,
      plan: "free",
      limits: PLANS.free,
      publishableKeys: [pk],
      secretKeys: [],
    });

    await client.apps.update.mutate({
      appId: app.id,
      name: "Live 2",
      allowedOrigins: ["https://a.example"],
      clientPublish: false,
    });
    expect(await cp.server.directory.byId(app.id)).toMatchObject({
      name: "Live 2",
      allowedOrigins: ["https://a.example"],
      clientPublish: false,
    });

    await client.apps.delete.mutate({ appId: app.id });
    expect(await cp.server.directory.byId(app.id)).toBeUndefined();
    expect(await cp.server.directory.byPublishableKey(pk)).toBeUndefined();
  });
});
