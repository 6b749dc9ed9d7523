import { describe, expect, it } from "vitest";
import { KEY_USE_RESOLUTION_MS, KeyUse, MemoryKeyUseStore, recordingKeyUse } from "./key-use.js";
import { hashSecret, newSecretKey } from "./keys.js";
import { PLANS } from "./plans.js";
import { type AppRuntime, MemoryTenantDirectory } from "./tenant-directory.js";

describe("KeyUse", () => {
  it("records a key at most once per resolution, and again after it", async () => {
    const writes: Map<string, number>[] = [];
    const store = new MemoryKeyUseStore();
    let now = 1_000_000;
    const recorded = {
      record: async (uses: Map<string, number>) => {
        writes.push(new Map(uses));
        await store.record(uses);
      },
      lastUsed: (ids: string[]) => store.lastUsed(ids),
    };
    const keyUse = new KeyUse(recorded, { now: () => now });
    keyUse.used("p:pk_a");
    keyUse.used("p:pk_a");
    now += KEY_USE_RESOLUTION_MS - 1;
    keyUse.used("p:pk_a");
    await keyUse.flush();
    expect(writes).toEqual([new Map([["p:pk_a", 1_000_000]])]);
    now += 1;
    keyUse.used("p:pk_a");
    await keyUse.flush();
    expect(writes).toHaveLength(2);
    expect(await store.lastUsed(["p:pk_a", "s:never"])).toEqual(new Map([["p:pk_a", now]]));
  });

  it("is told of the keys the directory finds, never of wrong ones, and never the secret itself", async () => {
    const directory = new MemoryTenantDirectory();
    const secret = newSecretKey();
    const app: AppRuntime = {
      appId: "app_1",
      orgId: "org_1",
      name: "a",
      plan: "free",
      allowedOrigins: [],
      anonymousCaps: {},
      clientPublish: true,
      limits: PLANS.free,
      publishableKeys: ["pk_live"],
      secretKeys: [{ keyId: secret.keyId, hash: hashSecret(secret.secret) }],
    };
    await directory.put(app);
    const store = new MemoryKeyUseStore();
    const keyUse = new KeyUse(store);
    const recording = recordingKeyUse(directory, keyUse);
    await recording.byPublishableKey("pk_live");
    await recording.byPublishableKey("pk_unknown");
    await recording.bySecretKey(secret.secret);
    await recording.bySecretKey(`sk_${secret.keyId}_${"x".repeat(32)}`);
    await keyUse.flush();
    const used = await store.lastUsed(["p:pk_live", "p:pk_unknown", `s:${secret.keyId}`]);
    expect([...used.keys()]).toEqual(["p:pk_live", `s:${secret.keyId}`]);
  });
});
