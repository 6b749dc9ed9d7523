import { describe, expect, it } from "vitest";
import { messageSize } from "./names.js";

describe("messageSize", () => {
  it("counts the UTF-8 bytes of the JSON encoding, as a browser's TextEncoder does", () => {
    const cases: [unknown, number][] = [
      [null, 4],
      [undefined, 4],
      ["abc", 5],
      [{ text: "é" }, 13],
      [{ emoji: "😀" }, 16],
      // A lone surrogate is escaped by JSON.stringify (six ASCII bytes), not replaced.
      ["\ud800", 8],
    ];
    for (const [data, bytes] of cases) {
      expect(messageSize(data)).toBe(bytes);
      expect(messageSize(data)).toBe(new TextEncoder().encode(JSON.stringify(data ?? null)).length);
    }
  });
});
