import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServices } from "../../docker/build.js";
import { bundleIsStale } from "../start.mjs";

/** `npm start` (all-in-one/start.mjs) rebuilds the bundle exactly when one of its inputs is newer. */
describe("npm start's rebuild decision", () => {
  let dir: string;
  const at = (seconds: number) => new Date(1_700_000_000_000 + seconds * 1000);
  const bundle = () => join(dir, "main.js");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rb-launcher-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function file(name: string, time: number, text = "") {
    await writeFile(join(dir, name), text);
    await utimes(join(dir, name), at(time), at(time));
  }

  it("builds when there is no bundle, or no list of its inputs", async () => {
    expect(bundleIsStale(bundle(), dir)).toBe(true);
    await file("main.js", 10);
    expect(bundleIsStale(bundle(), dir)).toBe(true);
  });

  it("keeps a bundle newer than every input, rebuilds when one is newer or gone", async () => {
    await file("a.ts", 1);
    await file("b.ts", 2);
    await file("main.js", 10);
    await file("main.js.inputs.json", 10, JSON.stringify(["a.ts", "b.ts"]));
    expect(bundleIsStale(bundle(), dir)).toBe(false);
    await file("b.ts", 11);
    expect(bundleIsStale(bundle(), dir)).toBe(true);
    await file("b.ts", 2);
    await rm(join(dir, "a.ts"));
    expect(bundleIsStale(bundle(), dir)).toBe(true);
  });

  it("finds the real bundle fresh right after docker/build.ts wrote it", async () => {
    await buildServices(["all-in-one"]);
    const root = fileURLToPath(new URL("../../", import.meta.url));
    expect(bundleIsStale(join(root, "all-in-one/dist/bin/main.js"), root)).toBe(false);
  }, 60_000);
});
