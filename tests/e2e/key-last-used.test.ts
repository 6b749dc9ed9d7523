/**
 * Key last-used times (docs/console.md): the node records publishable keys at handshakes,
 * the REST API secret keys on calls, the control plane's `keys.list` shows them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { poll } from "../fixtures.js";
import { startTestPlatform, type TestPlatform } from "./fixtures.js";

let p: TestPlatform;
beforeAll(async () => {
  p = await startTestPlatform();
}, 60_000);
afterAll(() => p?.close());

describe("key last-used times", () => {
  it("are null until a key is used, then the time of its use, per key", async () => {
    const dev = await p.developer();
    const lastUsed = async () =>
      Object.fromEntries(
        (await dev.trpc.keys.list.query({ appId: dev.appId })).map((k) => [k.kind, k.lastUsedAt]),
      );
    expect(await lastUsed()).toEqual({ publishable: null, secret: null });
    const before = Date.now();
    await dev.server.publish({ room: "news", event: "x", data: {} });
    await poll("the secret key's use", async () => (await lastUsed()).secret).not.toBeNull();
    expect((await lastUsed()).publishable).toBeNull();
    expect(Date.parse((await lastUsed()).secret!)).toBeGreaterThanOrEqual(before);

    await p.client({ key: dev.publishableKey }).room("public:x").subscribe();
    await poll("the publishable key's use", async () => (await lastUsed()).publishable).not.toBeNull();
  });
});
