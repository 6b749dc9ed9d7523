import { describe, expect, it } from "vitest";
import { createServerClient } from "./server.js";

// Requests against the real REST API and control plane are tested end to end in
// tests/e2e/rest-api.test.ts; these are the checks made before anything is sent.
describe("createServerClient", () => {
  // Port 9 (discard) on loopback: if a request were sent, it would fail with UNAVAILABLE.
  const client = createServerClient({
    secretKey: `sk_${"a".repeat(12)}_${"b".repeat(32)}`,
    appId: "app_1",
    restUrl: "http://127.0.0.1:9",
    controlPlaneUrl: "http://127.0.0.1:9",
  });

  it("checks names and limits before sending anything", async () => {
    await expect(client.publish({ room: "bad room", event: "e", data: 1 })).rejects.toMatchObject({
      code: "INVALID_ROOM_NAME",
    });
    await expect(client.publish({ room: "a", event: "", data: 1 })).rejects.toMatchObject({
      code: "INVALID_EVENT_NAME",
    });
    const rooms = Array.from({ length: 101 }, (_, i) => `r${i}`);
    await expect(client.publish({ rooms, event: "e", data: 1 })).rejects.toMatchObject({
      code: "TOO_MANY_ROOMS",
    });
    await expect(client.batch([])).rejects.toMatchObject({ code: "TOO_MANY_ROOMS" });
  });

  it("refuses a publishable key", () => {
    expect(() =>
      createServerClient({
        secretKey: "pk_1",
        appId: "app_1",
        restUrl: "https://a",
        controlPlaneUrl: "https://b",
      }),
    ).toThrow(expect.objectContaining({ code: "WRONG_KEY_TYPE" }));
  });
});
