import { describe, expect, it } from "vitest";
import { newAppId, newPublishableKey, newSecretKey } from "./keys.js";
import { PLANS } from "./plans.js";
import { type AppRuntime, MemoryTenantDirectory } from "./tenant-directory.js";

function appWith(secretKeys: AppRuntime["secretKeys"]): AppRuntime {
  return {
    appId: newAppId(),
    orgId: "org_test",
    name: "test",
    plan: "free",
    allowedOrigins: [],
    anonymousCaps: {},
    clientPublish: true,
    limits: { ...PLANS.free },
    publishableKeys: [newPublishableKey()],
    secretKeys,
  };
}

describe("secret key lookup", () => {
  it("a key found before is refused once it is revoked, and another app's key never matches", async () => {
    const directory = new MemoryTenantDirectory();
    const key = newSecretKey();
    const app = appWith([{ keyId: key.keyId, hash: key.hash }]);
    await directory.put(app);
    expect((await directory.bySecretKey(key.secret))?.appId).toBe(app.appId);
    expect((await directory.bySecretKey(key.secret))?.appId).toBe(app.appId);

    await directory.put({ ...app, secretKeys: [] });
    expect(await directory.bySecretKey(key.secret)).toBeUndefined();
  });

  it("a key id reused with another secret does not match the one seen before", async () => {
    const directory = new MemoryTenantDirectory();
    const first = newSecretKey();
    const app = appWith([{ keyId: first.keyId, hash: first.hash }]);
    await directory.put(app);
    expect((await directory.bySecretKey(first.secret))?.appId).toBe(app.appId);

    // The same key id now stands for another secret (a rotation, or a forged directory entry).
    const other = newSecretKey();
    const rotated = `sk_${first.keyId}_${other.secret.slice(-32)}`;
    await directory.put({ ...app, secretKeys: [{ keyId: first.keyId, hash: newSecretKey().hash }] });
    expect(await directory.bySecretKey(first.secret)).toBeUndefined();
    expect(await directory.bySecretKey(rotated)).toBeUndefined();
  });
});
