import { RelaybaseError } from "@relaybase/protocol";
import { describe, expect, it, vi } from "vitest";
import { createServerClient, RelaybaseHttpError, type ServerClientOptions } from "./server.js";

function setup(status: number, body: unknown, overrides: Partial<ServerClientOptions> = {}) {
  const fetch = vi.fn(async (_url: string | URL | Request, _init?: RequestInit) =>
    typeof body === "string" ? new Response(body, { status }) : Response.json(body, { status }),
  );
  const client = createServerClient({
    secretKey: "sk_test",
    appId: "app_1",
    restUrl: "https://api.example.com/",
    controlPlaneUrl: "https://cp.example.com",
    fetch: fetch as unknown as typeof globalThis.fetch,
    ...overrides,
  });
  const request = (i = 0) => {
    const [url, init] = fetch.mock.calls[i]!;
    return { url: String(url), init: init!, body: JSON.parse(String(init!.body)) as unknown };
  };
  return { client, fetch, request };
}

describe("createServerClient", () => {
  it("publishes with the secret key and returns the offsets", async () => {
    const answer = { id: "m1", offsets: { "chat:a": { offset: 3, epoch: "e" } } };
    const { client, request } = setup(200, answer);
    const result = await client.publish({
      room: "chat:a",
      event: "chat",
      data: { text: "hi" },
      exceptConnectionId: "sock1",
      id: "m1",
    });
    expect(result).toEqual(answer);
    const { url, init, body } = request();
    expect(url).toBe("https://api.example.com/v1/apps/app_1/publish");
    expect(init.method).toBe("POST");
    expect(init.headers).toMatchObject({
      authorization: "Bearer sk_test",
      "content-type": "application/json",
    });
    expect(body).toEqual({
      room: "chat:a",
      event: "chat",
      data: { text: "hi" },
      exceptConnectionId: "sock1",
      id: "m1",
    });
  });

  it("sends batches as { messages }", async () => {
    const { client, request } = setup(200, { results: [] });
    await client.batch([
      { rooms: ["a", "b"], event: "x", data: 1 },
      { room: "c", event: "y", data: 2 },
    ]);
    expect(request().url).toBe("https://api.example.com/v1/apps/app_1/batch");
    expect(request().body).toEqual({
      messages: [
        { rooms: ["a", "b"], event: "x", data: 1 },
        { room: "c", event: "y", data: 2 },
      ],
    });
  });

  it("mints tokens at the control plane", async () => {
    const { client, request } = setup(200, { token: "eyJ", expiresAt: "2030-01-01T00:00:00.000Z" });
    const created = await client.createToken({
      userId: "u1",
      capabilities: { "chat:*": ["subscribe"] },
      ttl: 600,
    });
    expect(created.token).toBe("eyJ");
    expect(request().url).toBe("https://cp.example.com/v1/tokens");
    expect(request().body).toEqual({ userId: "u1", capabilities: { "chat:*": ["subscribe"] }, ttl: 600 });
  });

  it("throws the body's code and retry with the HTTP status", async () => {
    const { client } = setup(429, {
      error: { code: "RATE_LIMITED", message: "slow down", retry: "backoff" },
    });
    const error = await client.publish({ room: "a", event: "e", data: null }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RelaybaseHttpError);
    expect(error).toBeInstanceOf(RelaybaseError);
    expect(error).toMatchObject({
      code: "RATE_LIMITED",
      status: 429,
      retry: "backoff",
      message: "slow down",
    });
  });

  it("judges by the status when the body is not ours", async () => {
    const { client } = setup(502, "<html>bad gateway</html>");
    await expect(client.publish({ room: "a", event: "e", data: null })).rejects.toMatchObject({
      code: "UNAVAILABLE",
      status: 502,
      retry: "backoff",
    });
  });

  it("reports a request that got no answer as UNAVAILABLE with status 0", async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError("fetch failed");
    });
    const client = createServerClient({
      secretKey: "sk_test",
      appId: "app_1",
      restUrl: "https://api.example.com",
      controlPlaneUrl: "https://cp.example.com",
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    await expect(client.publish({ room: "a", event: "e", data: null })).rejects.toMatchObject({
      code: "UNAVAILABLE",
      status: 0,
    });
  });

  it("checks names and limits before sending anything", async () => {
    const { client, fetch } = setup(200, {});
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
    expect(fetch).not.toHaveBeenCalled();
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
