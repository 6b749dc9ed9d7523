/**
 * The Terraform code, read as Terraform reads it (no terraform binary here, so no
 * `terraform validate` or `plan`): every .tf parsed with @cdktf/hcl2json (HashiCorp's
 * HCL parser compiled to WASM), then the checks `terraform validate` would start with —
 * variables typed, described and declared where used, module inputs that exist — and the
 * ones it cannot do: the chart values the module sets exist in values.schema.json with
 * the right type, and its Secret's keys are the ones the chart reads.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { parse } from "@cdktf/hcl2json";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { chartDir } from "./chart.js";
import { repoRoot } from "./k8s-tools.js";

const terraformDir = join(repoRoot, "infra", "terraform");
/** How hcl2json writes an expression: `${expr}`. */
const tfExpr = (expr: string) => `\${${expr}}`;

// biome-ignore lint/suspicious/noExplicitAny: hcl2json returns untyped JSON, read field by field
type Hcl = Record<string, any>;

interface TfModule {
  dir: string;
  files: Record<string, string>;
  json: Hcl[];
}

function tfDirs(dir: string): string[] {
  const here = readdirSync(dir).some((f) => f.endsWith(".tf")) ? [dir] : [];
  const below = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isDirectory() && !p.endsWith(".terraform"));
  return [...here, ...below.flatMap(tfDirs)];
}

const modules: TfModule[] = [];
beforeAll(async () => {
  for (const dir of tfDirs(terraformDir)) {
    const files: Record<string, string> = {};
    const json: Hcl[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".tf"))) {
      files[file] = readFileSync(join(dir, file), "utf8");
      json.push(await parse(file, files[file] as string));
    }
    modules.push({ dir, files, json });
  }
});

const name = (m: TfModule) => relative(terraformDir, m.dir);
const moduleAt = (dir: string) => {
  const found = modules.find((m) => m.dir === dir);
  if (!found) throw new Error(`no Terraform module at ${dir}`);
  return found;
};
/** Every block of one kind (variable, output, module…) across the module's files, by name. */
const blocks = (m: TfModule, kind: string): Record<string, Hcl> =>
  Object.assign(
    {},
    ...m.json.map((j) =>
      Object.fromEntries(Object.entries(j[kind] ?? {}).map(([k, v]) => [k, (v as Hcl[])[0]])),
    ),
  );
const resources = (m: TfModule, type: string): Hcl[] =>
  m.json.flatMap((j) => Object.values(j.resource?.[type] ?? {}).map((v) => (v as Hcl[])[0] as Hcl));
/** The module's source text without comments, to find references in. */
const code = (m: TfModule) =>
  Object.values(m.files)
    .join("\n")
    .replace(/^\s*#.*$/gm, "");

describe("Terraform", () => {
  it("has the chart-installing module and the AWS example, and parses every .tf file", () => {
    expect(modules.map(name).sort()).toEqual(["examples/aws", "modules/relaybase"]);
    for (const m of modules) expect(m.json.length, name(m)).toBeGreaterThanOrEqual(3);
  });

  it("gives every variable a type and a description, and every output a description", () => {
    for (const m of modules) {
      for (const [variable, body] of Object.entries(blocks(m, "variable"))) {
        expect(body.type, `${name(m)}: variable ${variable} has a type`).toBeDefined();
        expect(
          body.description?.length ?? 0,
          `${name(m)}: variable ${variable} is described`,
        ).toBeGreaterThan(10);
      }
      const outputs = blocks(m, "output");
      expect(Object.keys(outputs).length, name(m)).toBeGreaterThan(3);
      for (const [output, body] of Object.entries(outputs)) {
        expect(body.description?.length ?? 0, `${name(m)}: output ${output} is described`).toBeGreaterThan(
          10,
        );
      }
    }
  });

  it("declares every var.x it uses and uses every variable it declares", () => {
    for (const m of modules) {
      const declared = Object.keys(blocks(m, "variable"));
      const used = new Set([...code(m).matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)].map((x) => x[1] as string));
      expect(
        [...used].filter((v) => !declared.includes(v)),
        `${name(m)}: undeclared`,
      ).toEqual([]);
      expect(
        declared.filter((v) => !used.has(v)),
        `${name(m)}: unused`,
      ).toEqual([]);
    }
  });

  it("validates what can be checked before apply, and keeps credentials sensitive", () => {
    const relaybase = blocks(moduleAt(join(terraformDir, "modules", "relaybase")), "variable");
    for (const variable of [
      "namespace",
      "release_name",
      "database_url",
      "redis_url",
      "public_hostname",
      "operator_token",
    ]) {
      expect(relaybase[variable]?.validation?.length ?? 0, variable).toBeGreaterThan(0);
    }
    for (const variable of [
      "database_url",
      "redis_url",
      "operator_token",
      "stripe_secret_key",
      "stripe_webhook_secret",
    ]) {
      expect(relaybase[variable]?.sensitive, `${variable} is sensitive`).toBe(true);
    }
    const aws = blocks(moduleAt(join(terraformDir, "examples", "aws")), "variable");
    expect(aws.postgres?.validation.length).toBeGreaterThan(0);
    expect(aws.private_subnet_ids?.validation.length).toBeGreaterThan(0);
  });

  it("pins every provider it requires", () => {
    for (const m of modules) {
      const required = m.json
        .flatMap((j) => j.terraform ?? [])
        .flatMap((t: Hcl) => t.required_providers ?? []);
      const providers = Object.assign({}, ...required);
      expect(Object.keys(providers).length, name(m)).toBeGreaterThan(0);
      for (const [provider, spec] of Object.entries(providers as Record<string, Hcl>)) {
        expect(spec.version, `${name(m)}: ${provider}`).toMatch(/</);
      }
    }
  });

  it("passes the module only inputs it declares, and every input it requires", () => {
    for (const m of modules) {
      for (const [call, body] of Object.entries(blocks(m, "module"))) {
        const target = moduleAt(resolve(m.dir, body.source));
        const variables = blocks(target, "variable");
        const passed = Object.keys(body).filter(
          (k) => !["source", "version", "providers", "depends_on"].includes(k),
        );
        expect(
          passed.filter((k) => !(k in variables)),
          `${name(m)}: module ${call}`,
        ).toEqual([]);
        const required = Object.entries(variables)
          .filter(([, v]) => !("default" in v))
          .map(([k]) => k);
        expect(
          required.filter((k) => !passed.includes(k)),
          `${name(m)}: module ${call} misses`,
        ).toEqual([]);
        // Outputs read from the module exist.
        for (const [, output] of code(m).matchAll(new RegExp(`module\\.${call}\\.([a-z_]+)`, "g"))) {
          expect(Object.keys(blocks(target, "output")), `module.${call}.${output}`).toContain(output);
        }
      }
    }
  });
});

describe("the module's helm_release", () => {
  const module = () => moduleAt(join(terraformDir, "modules", "relaybase"));
  const release = () => {
    const [found] = resources(module(), "helm_release");
    if (!found) throw new Error("no helm_release");
    return found;
  };

  it("installs this repository's chart by default", () => {
    const locals = Object.assign({}, ...module().json.flatMap((j) => j.locals ?? []));
    expect(release().chart).toBe(tfExpr("local.chart"));
    const [, path] = /"\$\{path\.module\}\/([^"]+)"/.exec(locals.chart) ?? [];
    expect(path).toBeDefined();
    const chart = resolve(module().dir, path as string);
    expect(chart).toBe(chartDir);
    expect(parseYaml(readFileSync(join(chart, "Chart.yaml"), "utf8")).name).toBe("relaybase");
  });

  it("sets only chart values that values.schema.json declares, with their types", () => {
    const schema = JSON.parse(readFileSync(join(chartDir, "values.schema.json"), "utf8"));
    const sets: Hcl[] = [...(release().set ?? [])];
    for (const dynamic of release().dynamic?.set ?? []) {
      for (const component of JSON.parse(JSON.stringify(dynamic.for_each)) as string[]) {
        const content = dynamic.content[0];
        sets.push({ ...content, name: content.name.replace(tfExpr("set.value"), component) });
      }
    }
    expect(sets.length).toBeGreaterThan(20);
    for (const set of sets) {
      let node = schema;
      for (const key of (set.name as string).split(".")) {
        if (node.type === "object" && !node.properties) {
          node = {}; // a free-form object (annotations, labels): any key
          break;
        }
        node = node.properties?.[key];
        expect(node, `${set.name} is in values.schema.json`).toBeDefined();
      }
      const types = [node.type ?? []].flat();
      if (set.type === "string") expect(types.length === 0 || types.includes("string"), set.name).toBe(true);
      else if (typeof set.value === "boolean") expect(types, set.name).toContain("boolean");
      else if (/^\$\{.*(_replicas|adapter_max_len).*\}$/.test(String(set.value)))
        expect(types, set.name).toContain("integer");
    }
  });

  it("hands the credentials to the chart only through existingSecret, under the keys the chart reads", () => {
    const sets: Hcl[] = release().set ?? [];
    expect(sets.find((s) => s.name === "existingSecret")?.value).toBe(
      tfExpr("kubernetes_secret_v1.credentials.metadata[0].name"),
    );
    const secretVariables =
      /var\.(database_url|redis_url|operator_token|stripe_secret_key|stripe_webhook_secret)\b/;
    const leaks = [...sets, ...(release().dynamic?.set ?? [])].filter((s) =>
      secretVariables.test(JSON.stringify(s)),
    );
    expect(leaks, "no credential in a Helm value (they would be kept in the release history)").toEqual([]);
    expect(JSON.stringify(release().values ?? "")).not.toMatch(secretVariables);
    const [secret] = resources(module(), "kubernetes_secret_v1");
    const keys = [...JSON.stringify(secret?.data).matchAll(/\b([A-Z][A-Z_]+) *=/g)].map((x) => x[1]);
    const chartKeys = Object.values(
      parseYaml(readFileSync(join(chartDir, "values.yaml"), "utf8")).existingSecretKeys,
    );
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys.filter((k) => !chartKeys.includes(k))).toEqual([]);
    expect(dirname(chartDir)).toBe(join(repoRoot, "helm"));
  });
});
