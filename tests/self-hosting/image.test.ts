/**
 * The container images, as far as they can be checked without a container engine (none
 * runs here; docs/self-hosting.md says what was not built): the Dockerfile's stages, its
 * copy of every workspace manifest for `npm ci`, and that the bundles it runs need only
 * production dependencies. The bundles themselves run in pod-simulation.test.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { entries } from "../../docker/build.js";
import { buildBundles } from "./bundles.js";
import { RELEASE, render } from "./chart.js";
import { repoRoot } from "./k8s-tools.js";

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function dockerfileStages(): Stage[] {
  const text = readFileSync(join(repoRoot, "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  const stages: Stage[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const [, op = "", args = ""] = /^(\w+)\s+(.*)$/.exec(trimmed) ?? [];
    if (op.toUpperCase() === "FROM") {
      const [, from = "", name = ""] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      stages.push({ name, from, instructions: [] });
    } else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

/** A stage's instructions with those of the stages it is built FROM. */
function inherited(stages: Stage[], name: string): Instruction[] {
  const stage = stages.find((s) => s.name === name);
  if (!stage) throw new Error(`no stage ${name}`);
  const parent = stages.find((s) => s.name === stage.from);
  return [...(parent ? inherited(stages, parent.name) : []), ...stage.instructions];
}

const stages = dockerfileStages();
const targets = ["realtime-node", "control-plane", "rest-publish-api", "all-in-one"];

describe("Dockerfile", () => {
  it("has one target per service, each on the shared runtime stage, running as a non-root user", () => {
    for (const target of targets) {
      const stage = stages.find((s) => s.name === target);
      expect(stage?.from, target).toBe("runtime");
      const users = inherited(stages, target).filter((i) => i.op === "USER");
      expect(users.at(-1)?.args, target).toBe("1000:1000");
      expect(
        inherited(stages, target).some((i) => i.op === "HEALTHCHECK"),
        target,
      ).toBe(true);
    }
  });

  it("builds on a pinned Node.js 20 image and installs production dependencies with npm ci --omit=dev", () => {
    const text = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20\.\d+\.\d+-bookworm-slim$/m);
    // Every stage starts from the pinned base or from another stage of this file.
    const base = "$" + "{NODE_IMAGE}";
    expect(stages.every((s) => s.from === base || stages.some((p) => p.name === s.from))).toBe(true);
    const prod = inherited(stages, "prod-deps").filter((i) => i.op === "RUN");
    expect(prod.some((i) => i.args.includes("npm ci --omit=dev"))).toBe(true);
  });

  it("leaves build tools and package managers out of the final stage", () => {
    const runtime = stages.find((s) => s.name === "runtime");
    const copies = runtime?.instructions.filter((i) => i.op === "COPY") ?? [];
    // node_modules comes only from the production install, never from the build stage.
    expect(copies.filter((c) => c.args.includes("--from=build") && c.args.includes("node_modules"))).toEqual(
      [],
    );
    expect(copies.some((c) => c.args.startsWith("--from=prod-deps"))).toBe(true);
    const removed = runtime?.instructions.find((i) => i.op === "RUN")?.args ?? "";
    for (const tool of [
      "/usr/local/bin/npm",
      "/usr/local/bin/npx",
      "/usr/local/bin/corepack",
      "/usr/local/bin/yarn",
    ]) {
      expect(removed).toContain(tool);
    }
  });

  it("copies every workspace's package.json before npm ci, or npm ci fails in the image", () => {
    const rootManifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8"));
    const workspaces = Object.keys(lock.packages).filter(
      (path) => path && !path.includes("node_modules") && existsSync(join(repoRoot, path, "package.json")),
    );
    expect(workspaces.length).toBeGreaterThanOrEqual(rootManifest.workspaces.length);
    const copied = (stages.find((s) => s.name === "manifests")?.instructions ?? [])
      .filter((i) => i.op === "COPY")
      .map((i) => i.args.split(/\s+/)[0]);
    for (const workspace of workspaces) expect(copied, workspace).toContain(`${workspace}/package.json`);
  });

  it("starts each service with the bundle docker/build.ts writes, as the chart's containers do", () => {
    const bundleOf = (service: string) => entries[service]?.[0]?.[1];
    for (const target of targets) {
      const cmd =
        inherited(stages, target)
          .filter((i) => i.op === "CMD")
          .at(-1)?.args ?? "";
      expect(JSON.parse(cmd), target).toEqual(["node", bundleOf(target)]);
    }
    const objects = render();
    const commandOf = (component: string) =>
      objects.find((o) => o.kind === "Deployment" && o.metadata.name === `${RELEASE}-relaybase-${component}`)
        ?.spec.template.spec.containers[0].command;
    expect(commandOf("control-plane")).toEqual(["node", bundleOf("control-plane")]);
    expect(commandOf("realtime-node")).toEqual(["node", bundleOf("realtime-node")]);
    expect(commandOf("rest-api")).toEqual(["node", bundleOf("rest-publish-api")]);
  });
});

describe("service bundles", () => {
  let bundles: string[] = [];
  beforeAll(async () => {
    bundles = await buildBundles();
  });

  it("import only packages that some workspace lists as a production dependency", () => {
    const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8"));
    const production = new Set<string>();
    for (const [path, entry] of Object.entries(lock.packages as Record<string, { dependencies?: object }>)) {
      if (path.includes("node_modules")) continue;
      for (const dep of Object.keys(entry.dependencies ?? {})) production.add(dep);
    }
    for (const bundle of bundles) {
      const code = readFileSync(join(repoRoot, bundle), "utf8");
      const specifiers = [
        ...code.matchAll(
          /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"([^"]+)"|import\("([^"]+)"\)|(?:^|\n)import\s*"([^"]+)"/g,
        ),
      ]
        .map((m) => m[1] ?? m[2] ?? m[3] ?? "")
        .filter((s) => !s.startsWith(".") && !s.startsWith("node:"));
      const packages = new Set(
        specifiers.map((s) =>
          (s.startsWith("@") ? s.split("/").slice(0, 2) : s.split("/").slice(0, 1)).join("/"),
        ),
      );
      expect(
        [...packages].filter((p) => !production.has(p) && !isNodeBuiltin(p)),
        bundle,
      ).toEqual([]);
      expect(
        [...packages].filter((p) => p.startsWith("@relaybase/")),
        `${bundle} inlines our packages`,
      ).toEqual([]);
    }
  });
});

const isNodeBuiltin = (name: string) => builtinModules.includes(name);
