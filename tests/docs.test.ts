import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  configurationMarkdown,
  errorsMarkdown,
  openApiDocuments,
  withLimitsTables,
} from "../scripts/docs-gen.js";

describe("generated docs", () => {
  it("docs/errors.md and docs/configuration.md match the code (run `npm run docs`)", () => {
    const read = (name: string) => readFileSync(new URL(`../docs/${name}`, import.meta.url), "utf8");
    expect(read("errors.md")).toBe(errorsMarkdown());
    expect(read("configuration.md")).toBe(configurationMarkdown());
  });

  it("the plan tables in docs/limits.md match PLANS (run `npm run docs`)", () => {
    const doc = readFileSync(new URL("../docs/limits.md", import.meta.url), "utf8");
    expect(doc).toBe(withLimitsTables(doc));
  });

  it("docs/openapi/*.json are the OpenAPI documents the services serve (run `npm run docs`)", async () => {
    for (const [name, text] of Object.entries(await openApiDocuments())) {
      expect(readFileSync(new URL(`../docs/openapi/${name}`, import.meta.url), "utf8"), name).toBe(text);
    }
  });
});
