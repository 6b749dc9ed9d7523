import { RelaybaseError } from "@relaybase/protocol";
import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";
import { newMessageId } from "./client.js";
import { asWireError, toRelaybaseError } from "./errors.js";
import { DEFAULTS, resolveOptions } from "./options.js";

describe("resolveOptions", () => {
  it("fills in the documented defaults", () => {
    const o = resolveOptions({ key: "pk_1", url: "https://rt.example.com" });
    expect(o).toMatchObject({
      key: "pk_1",
      url: "https://rt.example.com",
      path: "/socket.io",
      echo: true,
      transports: ["websocket", "polling"],
      ackTimeoutMs: 10_000,
      publishTimeoutMs: 30_000,
      tokenRefreshMarginMs: 60_000,
      reconnectionDelayMs: 1_000,
      reconnectionDelayMaxMs: 10_000,
      socketOptions: {},
      authEndpoint: undefined,
      getToken: undefined,
    });
    expect(o.authHeaders()).toEqual({});
    // The defaults object is not shared with (or mutated through) resolved options.
    o.transports.push("webtransport");
    expect(DEFAULTS.transports).toEqual(["websocket", "polling"]);
  });

  it("keeps what the caller set", () => {
    const o = resolveOptions({
      key: "pk_1",
      url: "u",
      echo: false,
      transports: ["polling"],
      publishTimeoutMs: 5,
      authEndpoint: "/t",
      authHeaders: { a: "b" },
    });
    expect(o).toMatchObject({
      echo: false,
      transports: ["polling"],
      publishTimeoutMs: 5,
      authEndpoint: "/t",
    });
    expect(o.authHeaders()).toEqual({ a: "b" });
  });

  it("refuses a secret key, a missing key or url, and two token sources", () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as RelaybaseError).code;
      }
    };
    expect(code(() => resolveOptions({ key: "sk_secret", url: "u" }))).toBe("WRONG_KEY_TYPE");
    expect(code(() => resolveOptions({ key: "", url: "u" }))).toBe("INVALID_KEY");
    expect(code(() => resolveOptions({ key: "pk_1", url: "" }))).toBe("BAD_REQUEST");
    expect(
      code(() => resolveOptions({ key: "pk_1", url: "u", authEndpoint: "/t", getToken: async () => "t" })),
    ).toBe("BAD_REQUEST");
    expect(code(() => resolveOptions({ key: "pk_1", url: "u", ackTimeoutMs: -1 }))).toBe("BAD_REQUEST");
    expect(code(() => resolveOptions({ key: "pk_1", url: "u", publishTimeoutMs: Number.NaN }))).toBe(
      "BAD_REQUEST",
    );
  });
});

describe("backoffDelay", () => {
  it("doubles from the minimum, caps at the maximum, and jitters down to half", () => {
    expect(backoffDelay(0, 1_000, 10_000, () => 1)).toBe(1_000);
    expect(backoffDelay(1, 1_000, 10_000, () => 1)).toBe(2_000);
    expect(backoffDelay(3, 1_000, 10_000, () => 1)).toBe(8_000);
    expect(backoffDelay(10, 1_000, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(0, 1_000, 10_000, () => 0)).toBe(500);
  });
});

describe("wire errors", () => {
  it("reads a connect error's data and keeps the server's retry hint", () => {
    expect(asWireError({ code: "RATE_LIMITED", message: "slow", retry: "backoff" })).toEqual({
      code: "RATE_LIMITED",
      message: "slow",
      retry: "backoff",
    });
    expect(asWireError(undefined)).toBeUndefined();
    expect(asWireError("nope")).toBeUndefined();
    expect(asWireError({ code: "FUTURE_CODE", retry: "never" })).toMatchObject({ retry: "never" });
  });

  it("maps known codes to RelaybaseError and unknown ones to INTERNAL, keeping the code in the message", () => {
    const known = toRelaybaseError({ code: "CAPABILITY_DENIED", message: "no", retry: "never" });
    expect(known).toBeInstanceOf(RelaybaseError);
    expect(known).toMatchObject({ code: "CAPABILITY_DENIED", message: "no", retry: "never" });
    const unknown = toRelaybaseError(asWireError({ code: "FUTURE_CODE", message: "later" })!);
    expect(unknown.code).toBe("INTERNAL");
    expect(unknown.message).toContain("FUTURE_CODE");
  });
});

describe("newMessageId", () => {
  it("makes distinct ids within the protocol's 64-char limit", () => {
    const a = newMessageId();
    expect(a).toMatch(/^c_[0-9a-f]{32}$/);
    expect(newMessageId()).not.toBe(a);
  });
});
