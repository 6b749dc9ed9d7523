import { describe, expect, it } from "vitest";
import { newMessageId } from "./keys.js";

describe("newMessageId", () => {
  it("gives m_ and 16 letters or digits, distinct across several refills of its pool", () => {
    const ids = Array.from({ length: 2_000 }, newMessageId);
    for (const id of ids) expect(id).toMatch(/^m_[A-Za-z0-9]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
