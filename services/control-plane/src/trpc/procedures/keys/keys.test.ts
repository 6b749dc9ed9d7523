import { hashSecret } from "@relaybase/server-kit";
import { describe, expect, it } from "vitest";
import { openDatabase } from "../../../db/index.js";
import { apiKeys } from "../../../db/schema.js";
import {
  consoleClient,
  DB_MODES,
  relaybaseCodeOf,
  startControlPlane,
  uniqueEmail,
  useControlPlane,
} from "../../../testing/harness.js";

describe.each(DB_MODES)("API keys over tRPC (%s)", (mode) => {
  const cp = useControlPlane(mode);

  it("shows a secret once, lists keys without it, revokes, and the directory follows", async () => {
    const { client, jar } = consoleClient(cp.server.url);
    await client.auth.signup.mutate({ email: uniqueEmail(), password: "a long password" });
    const { app, publishableKey } = await client.apps.create.mutate({ name: "Keys" });

    const created = await client.keys.create.mutate({ appId: app.id, kind: "secret", name: "backend" });
    const secret = created.secret!;
    expect(secret).toMatch(/^sk_[A-Za-z0-9]{12}_[A-Za-z0-9]{32}$/);
    expect(created.key).toMatchObject({
      kind: "secret",
      name: "backend",
      publishableKey: null,
      revokedAt: null,
    });
    expect(created.key.secretPreview).toBe(`${secret.slice(0, 16)}…`);
    expect(await cp.server.directory.bySecretKey(secret)).toMatchObject({ appId: app.id });

    const extraPk = await client.keys.create.mutate({ appId: app.id, kind: "publishable", name: "web" });
    expect(extraPk.secret).toBeNull();
    expect(extraPk.key.publishableKey).toMatch(/^pk_/);
    expect((await cp.server.directory.byId(app.id))?.publishableKeys).toEqual([
      publishableKey.publishableKey,
      extraPk.key.publishableKey,
    ]);

    const listed = await client.keys.list.query({ appId: app.id });
    expect(listed.map((k) => k.kind)).toEqual(["publishable", "secret", "publishable"]);
    const listedText = JSON.stringify(listed);
    expect(listedText).not.toContain(secret);
    expect(listedText).not.toContain(hashSecret(secret));
    expect(listedText).not.toContain(secret.slice(16)); // not even the random part

    const revoked = await client.keys.revoke.mutate({ appId: app.id, keyId: created.key.id });
    expect(revoked.revokedAt).not.toBeNull();
    expect(await cp.server.directory.bySecretKey(secret)).toBeUndefined();
    // Revoking again is harmless and keeps the first revocation time.
    expect((await client.keys.revoke.mutate({ appId: app.id, keyId: created.key.id })).revokedAt).toBe(
      revoked.revokedAt,
    );
    expect(
      (await client.keys.list.query({ appId: app.id })).find((k) => k.id === created.key.id)?.revokedAt,
    ).toBe(revoked.revokedAt);

    await client.keys.revoke.mutate({ appId: app.id, keyId: extraPk.key.id });
    expect(await cp.server.directory.byPublishableKey(extraPk.key.publishableKey!)).toBeUndefined();
    expect(await cp.server.directory.byPublishableKey(publishableKey.publishableKey!)).toBeDefined();

    expect(
      await relaybaseCodeOf(client.keys.revoke.mutate({ appId: app.id, keyId: "key_doesnotexist000" })),
    ).toBe("NOT_FOUND");

    // Restart on the same database: migrations are a no-op, state and sessions survive,
    // and the directory is rebuilt from Postgres.
    const live = await client.keys.create.mutate({ appId: app.id, kind: "secret", name: "after" });
    const kidsBefore = (await cp.server.controlPlane.jwks()).keys.map((k) => k.kid);
    await cp.server.close();

    // What the database holds: only the hash of each secret, never the secret itself.
    const opened = await openDatabase({
      databaseUrl: cp.database.env.DATABASE_URL,
      dataDir: cp.database.env.DATA_DIR,
    });
    try {
      const rows = await opened.db.select().from(apiKeys);
      const stored = JSON.stringify(rows);
      for (const s of [secret, live.secret!]) {
        expect(stored).not.toContain(s);
        expect(stored).toContain(hashSecret(s));
      }
    } finally {
      await opened.close();
    }

    cp.server = await startControlPlane(cp.database);
    const again = consoleClient(cp.server.url);
    again.jar.session = jar.session;
    expect((await again.client.apps.get.query({ appId: app.id })).name).toBe("Keys");
    expect(await cp.server.directory.bySecretKey(live.secret!)).toMatchObject({ appId: app.id });
    expect(await cp.server.directory.bySecretKey(secret)).toBeUndefined();
    expect((await cp.server.controlPlane.jwks()).keys.map((k) => k.kid)).toEqual(kidsBefore);
  });
});
