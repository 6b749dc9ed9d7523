import { describe, expect, it } from "vitest";
import { capsToText, textToCaps } from "./caps";
import { safeNext } from "./paths";

describe("safeNext", () => {
  it("keeps paths on this site and drops everything else", () => {
    expect(safeNext("next=%2Fapps%2Fapp_1%2Fkeys")).toBe("/apps/app_1/keys");
    expect(safeNext("next=/invite/inv_abc")).toBe("/invite/inv_abc");
    for (const bad of [
      "",
      "next=",
      "next=https://evil.example",
      "next=//evil.example",
      "next=/%5Cevil.example",
    ]) {
      expect([bad, safeNext(bad)]).toEqual([bad, "/"]);
    }
    expect(safeNext("next=/ok%0a")).toBe("/");
  });
});

describe("anonymous capabilities as text", () => {
  it("round-trips and reports the line that is wrong", () => {
    const caps = { "public:*": ["subscribe", "history"], "news:*": ["subscribe"] } as const;
    const text = capsToText(caps as never);
    expect(text).toBe("public:* subscribe,history\nnews:* subscribe");
    expect(textToCaps(`${text}\n\n`)).toEqual({ caps });
    expect(textToCaps("")).toEqual({ caps: {} });
    expect(textToCaps("public:* fly").error).toMatch(/Line 1: operations are .*not "fly"/);
    expect(textToCaps("ok subscribe\npublic:*").error).toMatch(/^Line 2/);
    expect(textToCaps("a b c").error).toMatch(/^Line 1/);
  });
});
