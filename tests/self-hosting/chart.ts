/**
 * Renders the Helm chart with the real helm and reads what it made: the objects, and the
 * environment each container would get.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { k8sTools, repoRoot } from "./k8s-tools.js";

export const chartDir = join(repoRoot, "helm", "relaybase");
export const RELEASE = "rb";

/** The value sets the chart ships for CI (helm/relaybase/ci/*.yaml), by file name. */
export const valueSets: string[] = readdirSync(join(chartDir, "ci"))
  .filter((f) => f.endsWith("-values.yaml"))
  .sort();

export interface HelmResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const result = spawnSync(k8sTools().helm, args, {
    encoding: "utf8",
    // helm keeps caches and config under HOME; keep it away from the user's.
    env: {
      PATH: process.env.PATH ?? "",
      HOME: join(repoRoot, "node_modules", ".cache", "relaybase-helm-home"),
    },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** helm arguments for one value set: [] for the chart's defaults, else `-f ci/<file>`. */
export const valuesArgs = (set: string | undefined): string[] =>
  set ? ["-f", join(chartDir, "ci", set)] : [];

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field in the tests
  spec?: any;
  data?: Record<string, string>;
}

/** `helm template` and the objects it rendered; throws with helm's message when it refuses. */
export function render(args: string[] = []): K8sObject[] {
  const result = helm(["template", RELEASE, chartDir, "--namespace", "relaybase", ...args]);
  if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found;
}

export interface ContainerEnv {
  /** Literal values (ConfigMaps referenced by envFrom, then `env` values). */
  values: Record<string, string>;
  /** Variables read from Secrets: name → { secret, key }. */
  fromSecrets: Record<string, { secret: string; key: string }>;
}

/** The environment Kubernetes would give the first container of a Deployment or Job. */
export function containerEnv(objects: K8sObject[], workload: K8sObject): ContainerEnv {
  const container = workload.spec.template.spec.containers[0];
  const env: ContainerEnv = { values: {}, fromSecrets: {} };
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) throw new Error("only ConfigMaps are expected in envFrom");
    Object.assign(env.values, find(objects, "ConfigMap", source.configMapRef.name).data);
  }
  for (const entry of container.env ?? []) {
    if (entry.valueFrom?.secretKeyRef) {
      env.fromSecrets[entry.name] = {
        secret: entry.valueFrom.secretKeyRef.name,
        key: entry.valueFrom.secretKeyRef.key,
      };
      delete env.values[entry.name];
    } else {
      env.values[entry.name] = String(entry.value ?? "");
      delete env.fromSecrets[entry.name];
    }
  }
  return env;
}

/**
 * NOTES.txt as `helm install` would print it. helm renders NOTES only when it talks to a
 * cluster, so a copy of the chart gets a template that holds the same text as a YAML
 * block, which `helm template` renders with the same values.
 */
export function renderNotes(args: string[] = []): string {
  const copy = mkdtempSync(join(tmpdir(), "rb-chart-"));
  try {
    cpSync(chartDir, copy, { recursive: true });
    const notes = readFileSync(join(chartDir, "templates", "NOTES.txt"), "utf8");
    const indented = notes
      .split("\n")
      .map((line) => `  ${line}`)
      .join("\n");
    writeFileSync(join(copy, "templates", "zz-notes.yaml"), `notes: |\n${indented}\n`);
    const result = helm([
      "template",
      RELEASE,
      copy,
      "--namespace",
      "relaybase",
      "--show-only",
      "templates/zz-notes.yaml",
      ...args,
    ]);
    if (result.status !== 0) throw new Error(`helm template failed: ${result.stderr}`);
    const rendered = parseAllDocuments(result.stdout)[0]?.toJS() as { notes?: string } | undefined;
    if (rendered?.notes === undefined) throw new Error(`no NOTES in:\n${result.stdout}`);
    return rendered.notes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
