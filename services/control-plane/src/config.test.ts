import { ConfigError } from "@relaybase/server-kit";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { controlPlaneConfigSchema, loadControlPlaneConfig } from "./config.js";

describe("control-plane config", () => {
  it("has defaults for everything", () => {
    const config = loadControlPlaneConfig({});
    expect(config).toMatchObject({
      PORT: 4000,
      HOST: "127.0.0.1",
      DATA_DIR: ".data",
      PUBLIC_URL: "http://localhost:4000",
      SESSION_TTL_SECONDS: 604800,
      COOKIE_SECURE: false,
      LOG_LEVEL: "info",
      TRUST_PROXY: 0,
      LOGIN_ATTEMPTS_PER_MINUTE: 10,
      SIGNUPS_PER_HOUR: 20,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("derives the public URL (the token issuer) from PORT unless PUBLIC_URL is set", () => {
    expect(loadControlPlaneConfig({ PORT: "4100" }).PUBLIC_URL).toBe("http://localhost:4100");
    expect(loadControlPlaneConfig({ PORT: "4100", PUBLIC_URL: "https://cp.example.com" }).PUBLIC_URL).toBe(
      "https://cp.example.com",
    );
  });

  it("treats empty variables as unset and trims the public URL", () => {
    const config = loadControlPlaneConfig({
      DATABASE_URL: "",
      COOKIE_SECURE: "",
      PUBLIC_URL: "https://relay.example.com/",
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.PUBLIC_URL).toBe("https://relay.example.com");
    // Unset COOKIE_SECURE follows the public URL's scheme.
    expect(config.COOKIE_SECURE).toBe(true);
    expect(
      loadControlPlaneConfig({ PUBLIC_URL: "https://x.example", COOKIE_SECURE: "false" }).COOKIE_SECURE,
    ).toBe(false);
  });

  it("fails fast naming each bad variable", () => {
    expect(() => loadControlPlaneConfig({ PORT: "70000", DATABASE_URL: "not a url" })).toThrow(ConfigError);
    try {
      loadControlPlaneConfig({ PORT: "70000", DATABASE_URL: "not a url" });
    } catch (err) {
      expect(String(err)).toMatch(/PORT/);
      expect(String(err)).toMatch(/DATABASE_URL/);
    }
  });

  it("describes every variable (docs/configuration.md is generated from this)", () => {
    const json = z.toJSONSchema(controlPlaneConfigSchema, { io: "input", unrepresentable: "any" }) as {
      properties: Record<string, { description?: string }>;
    };
    for (const [name, prop] of Object.entries(json.properties)) {
      expect(prop.description, name).toBeTruthy();
    }
  });
});
