import {
  type AppRuntime,
  createLogger,
  MemoryPresenceStore,
  MemoryTenantDirectory,
  newAppId,
  newPublishableKey,
  newSecretKey,
  PLANS,
} from "@relaybase/server-kit";
import { describe, expect, it } from "vitest";
import { createRestPublishApi } from "./app.js";

async function setup() {
  const directory = new MemoryTenantDirectory();
  const presence = new MemoryPresenceStore();
  const apps: { app: AppRuntime; secret: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const key = newSecretKey();
    const app: AppRuntime = {
      appId: newAppId(),
      orgId: "org_test",
      name: "test",
      plan: "free",
      allowedOrigins: [],
      anonymousCaps: {},
      clientPublish: true,
      limits: { ...PLANS.free },
      publishableKeys: [newPublishableKey()],
      secretKeys: [{ keyId: key.keyId, hash: key.hash }],
    };
    await directory.put(app);
    apps.push({ app, secret: key.secret });
  }
  const api = createRestPublishApi({
    config: { BODY_LIMIT_BYTES: 1_000_000 },
    directory,
    presence,
    publisher: undefined as never,
    connections: { count: async () => 0 },
    logger: createLogger("test", "silent"),
  });
  return { api, presence, apps };
}

describe("GET /v1/apps/:appId/rooms/:room/presence", () => {
  it("pages the room's members with the app's secret key, and only that app's", async () => {
    const { api, presence, apps } = await setup();
    const [a, b] = apps as [(typeof apps)[0], (typeof apps)[0]];
    for (let i = 0; i < 5; i++) {
      await presence.put(
        {
          appId: a.app.appId,
          room: "chat:1",
          userId: `u${i}`,
          connectionId: `c${i}`.padEnd(20, "x"),
          data: `{"i":${i}}`,
          ts: i,
        },
        100,
      );
    }
    const get = (appId: string, secret: string, query = "") =>
      api.inject({
        method: "GET",
        url: `/v1/apps/${appId}/rooms/chat:1/presence${query}`,
        headers: { authorization: `Bearer ${secret}` },
      });
    const first = await get(a.app.appId, a.secret, "?limit=3");
    expect(first.statusCode).toBe(200);
    const body = first.json();
    expect(body.count).toBe(5);
    expect(body.members.map((m: { userId: string }) => m.userId)).toEqual(["u0", "u1", "u2"]);
    expect(body.members[0]).toEqual({ userId: "u0", connectionId: "c0".padEnd(20, "x"), data: { i: 0 } });
    const second = (await get(a.app.appId, a.secret, `?limit=3&cursor=${body.nextCursor}`)).json();
    expect(second.members.map((m: { userId: string }) => m.userId)).toEqual(["u3", "u4"]);
    expect(second.nextCursor).toBeUndefined();

    // Another app's room of the same name is empty; another app's key is refused.
    expect((await get(b.app.appId, b.secret)).json()).toEqual({ members: [], count: 0 });
    const mismatch = await get(a.app.appId, b.secret);
    expect(mismatch.statusCode).toBe(403);
    expect(mismatch.json().error.code).toBe("KEY_APP_MISMATCH");
    const publishable = await get(a.app.appId, a.app.publishableKeys[0]!);
    expect(publishable.json().error.code).toBe("WRONG_KEY_TYPE");
    expect((await get(a.app.appId, a.secret, "?limit=5000")).json().error.code).toBe("BAD_REQUEST");
    const badRoom = await api.inject({
      method: "GET",
      url: `/v1/apps/${a.app.appId}/rooms/${encodeURIComponent("bad room!")}/presence`,
      headers: { authorization: `Bearer ${a.secret}` },
    });
    expect(badRoom.json().error.code).toBe("INVALID_ROOM_NAME");
    const doc = (await api.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(
      doc.paths["/v1/apps/{appId}/rooms/{room}/presence"].get.parameters.map((p: { name: string }) => p.name),
    ).toEqual(expect.arrayContaining(["appId", "room", "cursor", "limit"]));
  });
});
