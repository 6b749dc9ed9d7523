import { describe, expect, it } from "vitest";
import { originMatches } from "./connection-checks.js";

describe("originMatches", () => {
  it.each([
    ["https://app.example.com", "https://app.example.com", true],
    ["https://app.example.com", "http://app.example.com", false],
    ["https://*.example.com", "https://a.example.com", true],
    ["https://*.example.com", "https://a.b.example.com", true],
    ["https://*.example.com", "https://example.com", false],
    ["https://*.example.com", "https://evil.com/.example.com", false],
    ["https://*.example.com", "https://a.example.com.evil.com", false],
    ["https://*.example.com", "https://a.example.com:8443", false],
    ["https://*.example.com:8443", "https://a.example.com:8443", true],
    ["https://*.example.com", "http://a.example.com", false],
  ])("%s vs %s → %s", (allowed, origin, expected) => {
    expect(originMatches(allowed, origin)).toBe(expected);
  });
});
