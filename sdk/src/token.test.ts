import { RelaybaseError } from "@relaybase/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decodeTokenTimes, endpointTokenSource, TokenProvider, tokenRefreshAt } from "./token.js";

/** An unsigned JWT-shaped string; the SDK never verifies signatures. */
function jwt(claims: Record<string, unknown>): string {
  const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${b64url({ alg: "EdDSA", typ: "JWT" })}.${b64url(claims)}.c2ln`;
}

describe("decodeTokenTimes", () => {
  it("reads exp and iat from a base64url payload", () => {
    expect(decodeTokenTimes(jwt({ exp: 1_700_000_060, iat: 1_700_000_000, sub: "ü-ß?>" }))).toEqual({
      exp: 1_700_000_060,
      iat: 1_700_000_000,
    });
  });

  it("returns undefined for anything that is not a JWT", () => {
    expect(decodeTokenTimes("")).toBeUndefined();
    expect(decodeTokenTimes("abc")).toBeUndefined();
    expect(decodeTokenTimes("a.%%%.c")).toBeUndefined();
    expect(decodeTokenTimes(`a.${Buffer.from("[1]").toString("base64url")}.c`)).toEqual({});
  });
});

describe("tokenRefreshAt", () => {
  it("is the margin before expiry", () => {
    const token = jwt({ iat: 1_000, exp: 1_000 + 3_600 });
    expect(tokenRefreshAt(token, 60_000)).toBe((1_000 + 3_600) * 1000 - 60_000);
  });

  it("is halfway through the life of a token shorter than twice the margin", () => {
    const token = jwt({ iat: 1_000, exp: 1_030 });
    expect(tokenRefreshAt(token, 60_000)).toBe(1_015_000);
  });

  it("uses the full margin without iat, and is undefined without exp", () => {
    expect(tokenRefreshAt(jwt({ exp: 2_000 }), 60_000)).toBe(2_000_000 - 60_000);
    expect(tokenRefreshAt(jwt({ sub: "u" }), 60_000)).toBeUndefined();
  });
});

describe("TokenProvider", () => {
  it("is anonymous without a source", async () => {
    const provider = new TokenProvider(undefined, 60_000);
    expect(provider.anonymous).toBe(true);
    expect(await provider.get()).toBeUndefined();
  });

  it("caches the token until the margin before it expires", async () => {
    let now = 1_000_000;
    const tokens = [jwt({ iat: 1_000, exp: 1_600 }), jwt({ iat: 1_550, exp: 2_150 })];
    const source = vi.fn(async () => tokens[source.mock.calls.length - 1]!);
    const provider = new TokenProvider(source, 60_000, () => now);
    expect(await provider.get()).toBe(tokens[0]);
    now = 1_539_999;
    expect(await provider.get()).toBe(tokens[0]);
    expect(source).toHaveBeenCalledTimes(1);
    now = 1_540_000;
    expect(await provider.get()).toBe(tokens[1]);
    expect(source).toHaveBeenCalledTimes(2);
  });

  it("shares one fetch between concurrent callers, and refetches after invalidate()", async () => {
    const source = vi.fn(async () => jwt({ exp: 9_999_999_999 }));
    const provider = new TokenProvider(source, 60_000);
    await Promise.all([provider.get(), provider.get(), provider.fresh()]);
    expect(source).toHaveBeenCalledTimes(1);
    await provider.get();
    expect(source).toHaveBeenCalledTimes(1);
    provider.invalidate();
    await provider.get();
    expect(source).toHaveBeenCalledTimes(2);
  });

  it("turns a failing source into a RelaybaseError that says to back off", async () => {
    const provider = new TokenProvider(async () => {
      throw new TypeError("offline");
    }, 60_000);
    const error = await provider.get().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(RelaybaseError);
    expect(error).toMatchObject({ code: "UNAVAILABLE", retry: "backoff" });
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });

  it("passes a RelaybaseError from the source through (the app decides not to retry)", async () => {
    const provider = new TokenProvider(async () => {
      throw new RelaybaseError("UNAUTHENTICATED");
    }, 60_000);
    await expect(provider.get()).rejects.toMatchObject({ code: "UNAUTHENTICATED", retry: "never" });
  });

  it("refuses an empty token", async () => {
    const provider = new TokenProvider(async () => "", 60_000);
    await expect(provider.get()).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});

describe("endpointTokenSource", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function stubFetch(status: number, body: unknown) {
    const fetch = vi.fn(async (_url: string, _init: RequestInit) => Response.json(body, { status }));
    vi.stubGlobal("fetch", fetch);
    return fetch;
  }

  it("POSTs with cookies and the extra headers and returns the token", async () => {
    const fetch = stubFetch(200, { token: "eyJ.x.y" });
    const source = endpointTokenSource("/api/token", () => ({ authorization: "Bearer app-session" }));
    expect(await source()).toBe("eyJ.x.y");
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe("/api/token");
    expect(init).toMatchObject({ method: "POST", credentials: "include", body: "{}" });
    expect(init.headers).toMatchObject({ authorization: "Bearer app-session" });
  });

  it("maps 401/403 to a do-not-retry code and 5xx to backoff", async () => {
    stubFetch(401, { message: "sign in" });
    await expect(endpointTokenSource("/t", () => ({}))()).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      retry: "never",
    });
    stubFetch(502, "bad gateway");
    await expect(endpointTokenSource("/t", () => ({}))()).rejects.toMatchObject({ retry: "backoff" });
    stubFetch(429, {});
    await expect(endpointTokenSource("/t", () => ({}))()).rejects.toMatchObject({ code: "RATE_LIMITED" });
  });

  it("uses a Relaybase error body when the endpoint forwards one", async () => {
    stubFetch(403, { error: { code: "FORBIDDEN", message: "banned", retry: "never" } });
    await expect(endpointTokenSource("/t", () => ({}))()).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: "banned",
    });
  });

  it("rejects an answer without a token", async () => {
    stubFetch(200, { nope: true });
    await expect(endpointTokenSource("/t", () => ({}))()).rejects.toMatchObject({ code: "UNAVAILABLE" });
  });
});
